# expect: assign
# b[o] is used by every row: = keeps only the last row's share
s/db\[o\] += g;/db[o] = g;/
