"""The ``prepare-data`` stage: load, clean, dedupe, split, tokenize and pack a text corpus.

Pure steps, one concern per module — :mod:`.sources` and :mod:`.fetch` read the corpus,
:mod:`.clean` normalises and filters it, :mod:`.split` assigns each document a side by a hash of
its content, :mod:`.collect` streams all of that into one Arrow file, :mod:`.pack` tokenizes and
cuts fixed-size blocks, :mod:`.version` names and commits the result by content digest, and
:mod:`.report` summarises it. :mod:`.build` strings the steps together; :mod:`.tasks` and
:mod:`.flow` add Prefect, MLflow and the status badge around them.
"""
