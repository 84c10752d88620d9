"""Window encoding: a session's passages read in order, packed into windows of tokens.

The pair format encodes every passage with its previous passage as context, so every sentence
of a session is read twice. Here a session (a *document*) is read once: its passages are
tokenised on their own (no special tokens), laid end to end and cut into windows of at most
``window_tokens`` tokens (``[CLS] ... [SEP]``). A passage's vector is the mean of its own
tokens' final states, so it still sees its neighbours through attention. Windows overlap only
at their edges: a window after the first starts with the last ``context_tokens`` tokens of the
segment before it (read again, not pooled), so the first passage of a window is not read
without its neighbour. A passage longer than a window is cut into pieces that are pooled
together (the mean over all its tokens); nothing is truncated.

Each token's type id is its speaker (0 clinician or note writer, 1 client), an embedding the
model learns, so a transcript turn carries who said it.

The same functions pack training and inference inputs (:func:`documents` rebuilds documents
from (passage, context) rows), so the two read identical windows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

CLIENT_TYPE = 1  # token type id of a client's tokens; clinicians and note writers are 0
UNOWNED = -1  # owner of a token no passage pools: [CLS], [SEP], re-read context
# Texts per tokenizer call: big enough to amortise the call, small enough to bound memory.
ENCODE_CHUNK = 8192


def speaker_type(speaker: str | None) -> int:
    """Token type id of a speaker: 1 for the client, 0 for everyone else."""
    return CLIENT_TYPE if speaker == "client" else 0


@dataclass
class Document:
    """Turns read in order: ``(row, text index, speaker type)``; row -1 marks a context turn
    that is read but not pooled (the seeker post of a reply, a turn no passage row holds)."""

    turns: list[tuple[int, int, int]] = field(default_factory=list)


def documents(
    texts: Sequence[str],
    contexts: Sequence[str],
    speakers: Sequence[str] | None = None,
    groups: Sequence[str] | None = None,
) -> tuple[list[Document], list[str]]:
    """Rebuild documents from (passage, context) rows in reading order.

    A row continues the current document when its context is the previous row's text; a row
    whose context is another text gets that text read before it (as the other speaker's turn),
    unless it is the context the previous row also had (replies to one seeker post are
    separate documents); a row without context, or of another group, starts a document.

    Args:
        texts: Each row's passage.
        contexts: Each row's context ("" for none), as :func:`pipeline.model.classify.
            contexts_for` and the corpus readers give it.
        speakers: Each row's speaker (None: all clinician).
        groups: Each row's session or conversation (None: context alone decides).

    Returns:
        (documents, texts): ``texts`` lists every text a document turn indexes (the rows'
        texts first, in order, then the inserted contexts).
    """
    pool = list(texts)
    docs: list[Document] = []
    extra: dict[str, int] = {}
    for row, context in enumerate(contexts):
        own = speaker_type(speakers[row] if speakers is not None else None)
        previous = row - 1
        same_group = previous >= 0 and (groups is None or groups[row] == groups[previous])
        inside = same_group and bool(context)
        if not (inside and context == texts[previous]):  # else: the conversation goes on
            if not inside or context == contexts[previous]:  # a new one, or a sibling reply
                docs.append(Document())
            if context:
                docs[-1].turns.append((UNOWNED, _index(context, pool, extra), 1 - own))
        docs[-1].turns.append((row, row, own))
    return docs, pool


def _index(text: str, pool: list[str], extra: dict[str, int]) -> int:
    if text not in extra:
        extra[text] = len(pool)
        pool.append(text)
    return extra[text]


@dataclass
class PackedWindows:
    """Windows of every document end to end in flat arrays (like a ragged batch).

    Attributes:
        input_ids, token_type_ids, owners: Per token; ``owners`` is the passage row that
            pools the token, or -1.
        lengths, offsets: Tokens per window and where each starts.
    """

    input_ids: np.ndarray
    token_type_ids: np.ndarray
    owners: np.ndarray
    lengths: np.ndarray
    offsets: np.ndarray

    def __len__(self) -> int:
        return len(self.lengths)

    def window_owners(self, window: int) -> np.ndarray:
        begin = self.offsets[window]
        return self.owners[begin : begin + self.lengths[window]]


def pack_document(
    doc: Document,
    token_ids: Sequence[Sequence[int]],
    window_tokens: int,
    context_tokens: int,
    cls_id: int,
    sep_id: int,
) -> list[tuple[list[int], list[int], list[int]]]:
    """One document's windows as (input ids, type ids, owners) lists.

    Segments (a turn, or a piece of a long turn) are added to a window while they fit; a new
    window opens with the previous segment's last ``context_tokens`` tokens (unowned). Pieces
    are at most ``window_tokens - 2 - context_tokens`` tokens long, so a piece and its context
    always fit; a context turn is kept to its last ``context_tokens`` tokens.
    """
    body = window_tokens - 2
    piece = body - context_tokens
    if piece < 1:
        raise ValueError(
            f"window_tokens ({window_tokens}) must exceed context_tokens ({context_tokens}) + 2"
        )
    segments: list[tuple[int, int, list[int]]] = []
    for owner, text, kind in doc.turns:
        ids = list(token_ids[text])
        if owner == UNOWNED:
            ids = ids[-context_tokens:] if context_tokens else []
            if ids:
                segments.append((owner, kind, ids))
            continue
        for begin in range(0, max(len(ids), 1), piece):
            segments.append((owner, kind, ids[begin : begin + piece]))
    windows: list[tuple[list[int], list[int], list[int]]] = []
    current: list[tuple[int, int, list[int]]] = []
    used = 0
    for segment in segments:
        if current and used + len(segment[2]) > body:
            windows.append(_window(current, cls_id, sep_id))
            _, kind, ids = current[-1]
            tail = ids[-context_tokens:] if context_tokens else []
            current = [(UNOWNED, kind, tail)] if tail else []
            used = len(tail)
        current.append(segment)
        used += len(segment[2])
    if current:
        windows.append(_window(current, cls_id, sep_id))
    return windows


def _window(segments, cls_id: int, sep_id: int) -> tuple[list[int], list[int], list[int]]:
    ids, types, owners = [cls_id], [0], [UNOWNED]
    for owner, kind, piece in segments:
        ids += piece
        types += [kind] * len(piece)
        owners += [owner] * len(piece)
    return ids + [sep_id], types + [0], owners + [UNOWNED]


class WindowTokenizer:
    """Tokenise passages on their own and pack them into windows (the window model's input).

    Args:
        tokenizer: A fast Hugging Face tokenizer with ``[CLS]``/``[SEP]``-style specials.
        window_tokens: Most tokens per window, specials included (at most the encoder's
            position limit).
        context_tokens: Tokens of the previous segment a window after the first starts with.
        isolated: Read every passage alone (its own document, no context): the baseline that
            window encoding is measured against (``context: alone``).
    """

    def __init__(self, tokenizer, window_tokens: int, context_tokens: int, isolated: bool = False):
        self.tokenizer = tokenizer
        self.isolated = isolated
        self.window_tokens = window_tokens
        self.context_tokens = context_tokens
        self.cls_id = tokenizer.cls_token_id
        self.sep_id = tokenizer.sep_token_id
        if self.cls_id is None or self.sep_id is None:
            raise ValueError("window encoding needs a tokenizer with CLS and SEP tokens")

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        ids: list[list[int]] = []
        for begin in range(0, len(texts), ENCODE_CHUNK):
            encoded = self.tokenizer(
                list(texts[begin : begin + ENCODE_CHUNK]),
                add_special_tokens=False,
                return_attention_mask=False,
                return_token_type_ids=False,
                verbose=False,
            )
            ids += encoded["input_ids"]
        return ids

    def pack(
        self,
        texts: Sequence[str],
        contexts: Sequence[str],
        speakers: Sequence[str] | None = None,
        groups: Sequence[str] | None = None,
    ) -> tuple[PackedWindows, list[list[int]]]:
        """Every row's windows, and the windows of each document (for batching whole units).

        Returns:
            (windows, window indices per document).
        """
        if self.isolated:
            docs = [
                Document([(row, row, speaker_type(speakers[row] if speakers else None))])
                for row in range(len(texts))
            ]
            pool = list(texts)
        else:
            docs, pool = documents(texts, contexts, speakers, groups)
        token_ids = self.token_ids(pool)
        ids: list[int] = []
        types: list[int] = []
        owners: list[int] = []
        lengths: list[int] = []
        per_doc: list[list[int]] = []
        for doc in docs:
            first = len(lengths)
            for window_ids, window_types, window_owners in pack_document(
                doc, token_ids, self.window_tokens, self.context_tokens, self.cls_id, self.sep_id
            ):
                ids += window_ids
                types += window_types
                owners += window_owners
                lengths.append(len(window_ids))
            per_doc.append(list(range(first, len(lengths))))
        lengths_array = np.asarray(lengths, dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths_array)[:-1]]).astype(np.int64)
        packed = PackedWindows(
            np.asarray(ids, dtype=np.int64),
            np.asarray(types, dtype=np.int64),
            np.asarray(owners, dtype=np.int64),
            lengths_array,
            offsets[: len(lengths_array)],
        )
        return packed, per_doc


def padded_index(lengths: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For rows laid end to end (``offsets``, ``lengths``), padded to the longest: which
    positions are real, and each position's index in the flat arrays (padding positions read
    index 0, any valid one, and are overwritten by the caller)."""
    positions = np.arange(int(lengths.max()), dtype=np.int64)
    real = positions < lengths[:, None]
    return real, np.where(real, offsets[:, None] + positions, 0)


def collate_windows(
    packed: PackedWindows, windows: np.ndarray, pad_id: int = 0, pin: bool = False
) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Pad a batch of windows: model inputs (``input_ids``, ``attention_mask``,
    ``token_type_ids``) and each position's owner row (-1 for padding and unowned tokens)."""
    real, index = padded_index(packed.lengths[windows], packed.offsets[windows])
    arrays = {
        "input_ids": np.where(real, packed.input_ids[index], pad_id),
        "attention_mask": real.astype(np.int64),
        "token_type_ids": np.where(real, packed.token_type_ids[index], 0),
    }
    owners = torch.from_numpy(np.where(real, packed.owners[index], UNOWNED))
    tensors = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in arrays.items()}
    if pin:
        tensors = {k: v.pin_memory() for k, v in tensors.items()}
        owners = owners.pin_memory()
    return tensors, owners


def pool_owned(
    states: torch.Tensor, owners: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Sum and count of each owner row's token states in a batch, in fp32.

    Returns:
        (rows, sums (len(rows), hidden), counts (len(rows),)): the distinct owner rows in the
        batch, ascending; a passage cut across windows of one batch is summed over all of them.
    """
    flat = owners.flatten()
    keep = torch.nonzero(flat >= 0).flatten()
    rows, local = torch.unique(flat.index_select(0, keep), return_inverse=True)
    tokens = states.reshape(-1, states.shape[-1]).index_select(0, keep).float()
    sums = tokens.new_zeros((len(rows), tokens.shape[-1])).index_add_(0, local, tokens)
    counts = tokens.new_zeros(len(rows)).index_add_(0, local, tokens.new_ones(len(local)))
    return rows, sums, counts


def batch_units(packed: PackedWindows, per_doc: Sequence[Sequence[int]]) -> list[list[int]]:
    """Windows that must share a training batch: a document's windows split only between
    passages, never inside one (a passage's pieces are pooled within one batch)."""
    units: list[list[int]] = []
    for windows in per_doc:
        current: list[int] = []
        for window in windows:
            owned = packed.window_owners(window)
            first = owned[owned >= 0]
            continues_passage = (
                current
                and len(first)
                and int(first[0]) in set(packed.window_owners(current[-1]).tolist())
            )
            if current and not continues_passage:
                units.append(current)
                current = []
            current.append(window)
        if current:
            units.append(current)
    return units
