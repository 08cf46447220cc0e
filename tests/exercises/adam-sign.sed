# expect: sign
s/param\[k\] -= /param[k] += /
