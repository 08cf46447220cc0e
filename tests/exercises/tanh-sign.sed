# expect: sign
# 1 - y^2 written the wrong way round
s/(1 - y\[i\] \* y\[i\])/(y[i] * y[i] - 1)/
