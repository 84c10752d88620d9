"""alliance: estimate the therapeutic alliance from de-identified session notes and transcripts."""

import os

__version__ = "0.1.0"

# oneDNN (PyTorch's CPU kernels) keeps up to 1,024 compiled primitives, one per tensor shape,
# each holding about 1 MB. Dynamic padding and feed-forward packing give nearly every batch new
# shapes, so resident memory grew by about 1 GB over 4,000 notes. 32 entries keep
# every shape one batch reuses (measured: same speed, memory flat); set the variable yourself
# to override. It must be set before PyTorch's first CPU matmul, hence here.
os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "32")
