# expect: factor
# the 2 of the square's derivative forgotten
s/double g = dL \* 2 \*/double g = dL */
