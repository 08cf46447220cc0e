# expect: transpose
s/n->dw1\[j \* I + i\]/n->dw1[i * H + j]/
