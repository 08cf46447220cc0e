#!/usr/bin/python3
"""The reference numbers of the Adam exercise (examples/exercises/harness/adam.c):
three steps of torch.optim.Adam in float64 from fixed parameters and gradients.
Run with Debian's python3-torch; prints the C arrays the harness holds."""
import torch

torch.set_default_dtype(torch.float64)
p = torch.tensor([0.5, -1.25, 2.0, 0.0, -0.3, 1.7], requires_grad=True)
grads = [[0.1, -0.4, 2.5, -0.003, 0.07, -1.2],
         [-0.2, -0.3, 1.5, 0.004, 0.09, 0.8],
         [0.15, 0.1, -0.5, -0.001, 0.05, 0.6]]
opt = torch.optim.Adam([p], lr=0.01, betas=(0.9, 0.999), eps=1e-8)
print("/* torch %s, torch.optim.Adam(lr=0.01, betas=(0.9, 0.999), eps=1e-8), float64 */"
      % torch.__version__)
print("static const double want[3][6] = {")
for g in grads:
    p.grad = torch.tensor(g)
    opt.step()
    print("    {" + ", ".join("%.17g" % v for v in p.detach().tolist()) + "},")
print("};")
