"""The ``deploy`` stage: the champion/challenger gate, the model server roll-out, the smoke test."""
