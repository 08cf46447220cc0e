# expect: factor
# the mean over the batch forgotten: B = 4 times too large
s| / B;|;|
