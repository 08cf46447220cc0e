# expect: passthrough
# the local derivative y (1 - y) left out: dx = dy
s/dx\[i\] += dy\[i\] \* y\[i\] \* (1 - y\[i\]);/dx[i] += dy[i];/
