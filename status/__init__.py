"""cubeops status: the status model, store, publishing, badges and the status HTTP service.

Imports nothing heavy: a badge server must start in well under a second, without torch.
"""
