# expect: sign
s/yr\[j\] \* (dyr\[j\] - dot)/yr[j] * (dot - dyr[j])/
