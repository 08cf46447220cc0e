# expect: transpose
# dw written as if it were [I, O]
s/dw\[o \* I + i\] += g/dw[i * O + o] += g/
