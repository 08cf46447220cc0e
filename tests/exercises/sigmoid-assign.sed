# expect: assign
# = in place of +=: right numbers here, wrong wherever x feeds two ops
s/dx\[i\] += dy\[i\] \* y\[i\]/dx[i] = dy[i] * y[i]/
