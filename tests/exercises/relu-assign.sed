# expect: assign
s/dx\[i\] += dy\[i\];/dx[i] = dy[i];/
