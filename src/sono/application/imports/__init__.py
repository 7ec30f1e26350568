"""The library import: an operator brings a folder of music in for a user, file by file, through
the upload use case (``sono library import``)."""
