"""Token-level encoding of prompts and targets, and batching, for seq2seq and causal models."""

from __future__ import annotations

from typing import Any

from ._tasks import HFTaskSpec

_IGNORE_INDEX = -100  # the label value transformers' losses skip


def _target_ids(tokenizer: Any, text: str, max_len: int) -> list[int]:
    """Target tokens ending in eos, so the model learns where to stop."""
    ids = list(tokenizer(text, add_special_tokens=False)["input_ids"])
    eos = tokenizer.eos_token_id
    if eos is None:
        return ids[:max_len]
    return ids[: max_len - 1] + [eos]


def _encode_prompt(tokenizer: Any, spec: HFTaskSpec, prompt: str, kind: str) -> list[int]:
    ids = list(tokenizer(prompt, add_special_tokens=True)["input_ids"])
    if kind == "causal" and len(ids) > 1 and ids[-1] == tokenizer.eos_token_id:
        # A tokenizer that closes every text with eos would tell a causal LM to stop
        # before the answer.
        ids = ids[:-1]
    limit = spec.max_source_length
    if len(ids) <= limit:
        return ids
    if kind == "seq2seq":
        # Keep the tokenizer's closing special token (T5's </s>) after truncation.
        last = ids[-1] if ids[-1] in tokenizer.all_special_ids else None
        return ids[: limit - 1] + [last] if last is not None else ids[:limit]
    # A causal LM continues from the prompt's end ("... Answer:"), so keep the tail, and
    # a leading bos if there is one.
    bos = tokenizer.bos_token_id
    if bos is not None and ids[0] == bos and limit > 1:
        return [bos] + ids[len(ids) - limit + 1 :]
    return ids[len(ids) - limit :]


def _encode_example(
    tokenizer: Any, spec: HFTaskSpec, prompt: str, target: str, kind: str
) -> tuple[list[int], list[int]]:
    """Return (input_ids, labels) for one training example."""
    prompt_ids = _encode_prompt(tokenizer, spec, prompt, kind)
    if kind == "seq2seq":
        return prompt_ids, _target_ids(tokenizer, target, spec.max_target_length)
    # Separate prompt and answer by a space, as they would read in running text;
    # evaluation strips the generated text, so this only shapes what the model learns.
    if prompt and target and not prompt[-1].isspace() and not target[0].isspace():
        target = " " + target
    target_ids = _target_ids(tokenizer, target, spec.max_target_length)
    return prompt_ids + target_ids, [_IGNORE_INDEX] * len(prompt_ids) + target_ids


def _collate(
    torch: Any, batch: list[tuple[list[int], list[int]]], kind: str, pad_id: int, device: Any
) -> dict[str, Any]:
    n = len(batch)
    src_width = max(len(src) for src, _ in batch)
    ids = torch.full((n, src_width), pad_id, dtype=torch.long)
    mask = torch.zeros((n, src_width), dtype=torch.long)
    lab_width = src_width if kind == "causal" else max(len(lab) for _, lab in batch)
    labels = torch.full((n, lab_width), _IGNORE_INDEX, dtype=torch.long)
    for row, (src, lab) in enumerate(batch):
        ids[row, : len(src)] = torch.tensor(src, dtype=torch.long)
        mask[row, : len(src)] = 1
        labels[row, : len(lab)] = torch.tensor(lab, dtype=torch.long)
    return {
        "input_ids": ids.to(device),
        "attention_mask": mask.to(device),
        "labels": labels.to(device),
    }
