"""The library import's handlers: the content check and the import of one file."""

from __future__ import annotations

from sono.application.audio.messages import AudioDetails
from sono.application.audio.uploads import AudioUploads
from sono.application.bus import Context, ProcessContext, handles
from sono.application.imports.messages import FindImported, ImportAudio, ImportedFile
from sono.application.media.service import MediaService
from sono.domain.audio import SameContent, default_title
from sono.domain.media import clean_filename


class ImportHandlers:
    def __init__(self, audio: AudioUploads, media: MediaService) -> None:
        self._audio = audio
        self._media = media

    @handles(FindImported)
    async def imported(self, query: FindImported, ctx: Context) -> frozenset[str]:
        spec = SameContent(query.owner_id, frozenset(query.content_hashes))
        return frozenset(await ctx.uow.audio_files.contents(spec))

    @handles(ImportAudio)
    async def import_audio(self, query: ImportAudio, ctx: ProcessContext) -> ImportedFile:
        if query.dry_run:  # what the upload would decide first, from the content: nothing stored
            info = await self._media.inspect_audio(query.file.path)
            tags = await self._media.read_tags(query.file.path)
            original = clean_filename(query.file.filename, default=f"audio.{info.format}")
            return ImportedFile(default_title(tags.title, original), info.format, None)
        details = AudioDetails(is_public=query.is_public)
        stored = await self._audio.upload_for(ctx, query.owner_id, query.file, details)
        return ImportedFile(stored.audio.title, stored.audio.format, stored.audio.id)
