"""``N_``: marks a message that a page shows in the reader's language (extracted into the catalogues).

The message itself stays English where it is raised (the API and the command line answer in English);
the page translates it with ``_()`` through the catalogue of ``referralnet.web.i18n``.
"""


def N_(message: str) -> str:  # noqa: N802 - the conventional name the extractor looks for
    return message
