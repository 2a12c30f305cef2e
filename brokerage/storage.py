from django.core.files.storage import FileSystemStorage


class PrivateFileStorage(FileSystemStorage):
    """Client files on disk with no public URL: they are served only by views that check the client scope."""

    def url(self, name):
        raise ValueError("Private files have no public URL; serve them through an authenticated view.")
