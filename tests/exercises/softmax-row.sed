# expect: rows
# a row pointer without its stride: every row after the first reads row 0's neighbours
s/\*dyr = dy + r \* C;/*dyr = dy + r;/
