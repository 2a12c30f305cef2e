"""Request letters: the kinds and their merge data (kinds, pure), reads, writes, forms, pages, render tasks.

Kept empty on purpose: clients.models imports LetterKind from kinds, so importing the package must not
import models, services or views.
"""
