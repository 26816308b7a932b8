"""Base models and tokenizers: the Hub / local path loader and the offline tiny preset."""
