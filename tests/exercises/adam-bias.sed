# expect: factor
# no bias correction: the first steps are too large by sqrt(1 - beta2^t) / (1 - beta1^t)
s/double bc1 = 1 - pow(beta1, t), bc2 = 1 - pow(beta2, t);/double bc1 = 1, bc2 = 1; (void)t;/
