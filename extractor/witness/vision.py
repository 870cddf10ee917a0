"""The page witness for scans (``--llm-vision``): a vision model reads the table pages' images.

A text LLM reading a scan reads OCR's output, so it repeats OCR's misreadings. A vision
model reads the page itself: its answer (the same rows-as-printed schema as the text
witness, ``tasks``) is a witness independent of OCR. Its rows are matched to the template
by their labels found in the OCR text, as the text witness's are; its values are compared
with OCR's reading key by key (``reconcile.reconcile_pages``): read the same way by both,
a value stands (and an identity must still hold through it); read differently, it goes to
review with both readings. Pages are rendered by ``pages.page_png`` (the review app's
renderer), at most ``MAX_SIDE`` pixels a side, and sent as ``data:`` URLs in OpenAI's
``image_url`` content parts.
"""

from __future__ import annotations

import base64
import io
import math
from bisect import bisect_right
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import LLMContextExceeded, LLMError
from .tasks import PAGE, Failure, Task, answer_tokens, table_texts

if TYPE_CHECKING:
    from ..inputs.sources import Loaded
    from ..model import Usage
    from ..reading.reader import ReaderResult
    from ..reading.sections import Sections
    from .llm import LLMClient

MAX_SIDE = 1600  # pixels: a table's digits stay legible, a page stays a few thousand tokens
PATCH = 28  # what open vision models count a token of an image (Qwen2-VL: 28 × 28 pixels)


def table_pages(found: Sections, loaded: Loaded) -> list[int]:
    """The pages (1-based) the tables stand on."""
    starts = loaded.page_starts or [0]
    pages: set[int] = set()
    for first, last in found.regions.values():
        a, b = loaded.source.raw_span(first, max(first, last - 1))
        pages.update(range(bisect_right(starts, a), bisect_right(starts, b) + 1))
    return sorted(p for p in pages if p >= 1)


def page_images(path: str | Path, pages: list[int]) -> tuple[tuple[str, ...], int]:
    """The pages as PNG ``data:`` URLs, and the tokens a vision model reads them as."""
    from PIL import Image

    from ..inputs import pages as rendering

    urls, tokens = [], 0
    for page in pages:
        image = Image.open(io.BytesIO(rendering.page_png(path, page)))
        if max(image.size) > MAX_SIDE:
            ratio = MAX_SIDE / max(image.size)
            image = image.resize((round(image.width * ratio), round(image.height * ratio)))
        tokens += math.ceil(image.width / PATCH) * math.ceil(image.height / PATCH)
        out = io.BytesIO()
        image.save(out, format="PNG")
        urls.append("data:image/png;base64," + base64.b64encode(out.getvalue()).decode())
    return tuple(urls), tokens


def ask_pages(
    client: LLMClient, loaded: Loaded, found: Sections, result: ReaderResult, usage: Usage
) -> tuple[dict[str, list[str]], list[Failure]]:
    """The vision witness's rows of each table the reader found on a scan, by part."""
    texts = table_texts("verify", loaded.source.view, found, result)
    pages = table_pages(found, loaded)
    if not texts or not pages:
        return {}, []
    task = Task(tuple(texts), PAGE)
    try:
        images, image_tokens = page_images(loaded.path, pages)
        room = min(answer_tokens(texts, []) + client.thinking, client.settings.max_output_tokens)
        prompt = image_tokens + len(task.prompt) + 2 * len(str(task.schema)) // 3
        if prompt + room > client.context_tokens:
            raise LLMContextExceeded(
                f"{len(pages)} 页图片约 {image_tokens} 个 token，超出上下文 {client.context_tokens}"
            )
        answer = client.ask(task.name, "", usage, room, images=images)
    except LLMError as exc:
        return {}, [Failure(task.name, exc)]
    return {part: answer.fields[part] for part in task.parts}, []
