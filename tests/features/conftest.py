"""One torch thread: the test machine's two cores are shared, and spinning threads only slow it down."""

import torch

torch.set_num_threads(1)
