"""Tests of the Hugging Face LoRA trainer on tiny random models built by the test itself.

No hub access: the test writes a word-level tokenizer, a 1-layer T5 and a 1-layer GPT-2
with random weights, and three small tasks (JSONL and CSV) into a temporary directory.
The scores of such models mean nothing; the tests check the plumbing (data, masking,
LoRA, generation, metrics, errors), not the quality of a fine-tuned model.
"""

from __future__ import annotations

import csv
import json
import math
import pickle

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("peft")
tokenizers = pytest.importorskip("tokenizers")

import torch  # noqa: E402
import transformers  # noqa: E402

from adagroup.trainers.hf import (  # noqa: E402
    HFLoRATrainer,
    HFTaskSpec,
    exact_match,
    load_task_specs,
    rouge1,
)
from adagroup.trainers.hf._tasks import _load_splits  # noqa: E402

pytestmark = pytest.mark.hf

GOOD = ["great", "fine", "lovely", "superb", "nice", "happy"]
BAD = ["awful", "poor", "sad", "boring", "ugly", "dull"]
ANIMALS = ["cat", "dog", "cow", "owl", "fox", "bee"]
FOODS = ["rice", "bread", "soup", "cake", "pear", "bean"]
FILLER = ["the", "a", "was", "very", "and", "it", "is", "what"]
PROMPT_WORDS = ["review", "sentiment", "question", "topic", "summarize", ":", "?"]
TARGET_WORDS = ["positive", "negative", "animal", "food"]
SPECIALS = ["<pad>", "</s>", "<unk>"]


def _write_tasks(root, rng):
    """Write three ~30-example tasks: JSONL with split fraction, CSV + CSV, JSONL rouge."""
    sentiment = []
    for _ in range(30):
        positive = rng.random() < 0.5
        words = rng.choice(GOOD if positive else BAD, size=3).tolist()
        text = " ".join(["it", "was", *words])
        sentiment.append({"text": text, "label": "positive" if positive else "negative"})
    with (root / "sentiment.jsonl").open("w") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in sentiment)

    def topic_rows(n):
        rows = []
        for _ in range(n):
            animal = rng.random() < 0.5
            word = rng.choice(ANIMALS if animal else FOODS)
            rows.append(
                {"question": f"what is a {word} ?", "answer": "animal" if animal else "food"}
            )
        return rows

    for name, n in (("topic_train.csv", 24), ("topic_eval.csv", 8)):
        with (root / name).open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=["question", "answer"])
            writer.writeheader()
            writer.writerows(topic_rows(n))

    summary = []
    for _ in range(30):
        words = rng.choice(GOOD + BAD + ANIMALS + FOODS, size=6).tolist()
        summary.append({"input": "summarize : " + " ".join(words), "target": " ".join(words[:2])})
    with (root / "summary.jsonl").open("w") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in summary)

    return [
        HFTaskSpec(
            "sentiment",
            train_file=root / "sentiment.jsonl",
            template="review : {text} sentiment :",
            target_field="label",
        ),
        HFTaskSpec(
            "topic",
            train_file=root / "topic_train.csv",
            eval_file=root / "topic_eval.csv",
            template="question : {question} topic :",
            target_field="answer",
        ),
        HFTaskSpec("summary", train_file=root / "summary.jsonl", metric="rouge1"),
    ]


def _tokenizer():
    words = SPECIALS + sorted(
        set(GOOD + BAD + ANIMALS + FOODS + FILLER + PROMPT_WORDS + TARGET_WORDS)
    )
    vocab = {w: i for i, w in enumerate(words)}
    tok = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    tok.decoder = tokenizers.decoders.WordPiece(prefix="##")
    # T5-style: every encoded text ends in </s>. The causal model shares this tokenizer,
    # which also checks that the trainer drops that eos from causal prompts.
    tok.post_processor = tokenizers.processors.TemplateProcessing(
        single="$A </s>", special_tokens=[("</s>", vocab["</s>"])]
    )
    return transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>"
    )


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("hf")
    tasks = _write_tasks(root, np.random.default_rng(0))
    tok = _tokenizer()
    torch.manual_seed(0)  # random init of the tiny base models
    t5 = transformers.T5ForConditionalGeneration(
        transformers.T5Config(
            vocab_size=len(tok),
            d_model=32,
            d_ff=64,
            d_kv=16,
            num_layers=1,
            num_heads=2,
            pad_token_id=tok.pad_token_id,
            eos_token_id=tok.eos_token_id,
            decoder_start_token_id=tok.pad_token_id,
            dropout_rate=0.0,
        )
    )
    gpt2 = transformers.GPT2LMHeadModel(
        transformers.GPT2Config(
            vocab_size=len(tok),
            n_embd=32,
            n_layer=1,
            n_head=2,
            n_positions=64,
            bos_token_id=tok.eos_token_id,
            eos_token_id=tok.eos_token_id,
            pad_token_id=tok.pad_token_id,
            # GPT-2's default 0.02 init leaves a 1-layer model nearly deaf to its context;
            # a wider init lets the LoRA-only learning test converge in a few dozen steps.
            initializer_range=0.2,
            resid_pdrop=0.0,
            embd_pdrop=0.0,
            attn_pdrop=0.0,
        )
    )
    paths = {}
    for kind, model in (("seq2seq", t5), ("causal", gpt2)):
        path = root / f"tiny-{kind}"
        model.save_pretrained(path)
        tok.save_pretrained(path)
        paths[kind] = path
    return {"root": root, "tasks": tasks, "models": paths}


def _trainer(workspace, kind, **kwargs):
    params = dict(epochs=2, batch_size=8, learning_rate=1e-2, num_threads=1, max_new_tokens=4)
    params.update(kwargs)
    return HFLoRATrainer(workspace["models"][kind], workspace["tasks"], **params)


@pytest.mark.parametrize("kind", ["seq2seq", "causal"])
def test_run_trains_lora_only_and_scores_exactly_the_subset(workspace, kind):
    trainer = _trainer(workspace, kind)
    subset = ("sentiment", "summary")
    result = trainer.train_model(subset, seed=0)

    assert set(result.scores) == set(subset)
    assert all(math.isfinite(v) and 0.0 <= v <= 1.0 for v in result.scores.values())
    # 24 training examples per task after holding out 20%: 48 mixed, 6 steps per epoch.
    assert result.n_train_examples == 48
    assert len(result.losses) == 12
    assert all(math.isfinite(loss) for loss in result.losses)
    assert [len(p) for p in result.predictions.values()] == [6, 6]

    model = result.model
    auto = (
        transformers.AutoModelForSeq2SeqLM
        if kind == "seq2seq"
        else transformers.AutoModelForCausalLM
    )
    base = auto.from_pretrained(workspace["models"][kind], local_files_only=True).state_dict()
    lora_b = {n: p for n, p in model.named_parameters() if "lora_B" in n}
    assert lora_b and all(p.requires_grad for p in lora_b.values())
    # peft initialises lora_B at zero, so any non-zero entry was learned.
    assert any(p.detach().abs().max() > 0 for p in lora_b.values())
    merged_free = {
        n.replace("base_model.model.", "").replace(".base_layer", ""): p
        for n, p in model.named_parameters()
        if "lora_" not in n
    }
    assert not any(p.requires_grad for p in merged_free.values())
    compared = 0
    for name, value in merged_free.items():
        if name in base:
            assert torch.equal(value.detach().cpu(), base[name]), name
            compared += 1
    assert compared >= len(base) // 2


@pytest.mark.parametrize("kind", ["seq2seq", "causal"])
def test_learns_an_easy_task(workspace, kind):
    # Catches masking, padding and decoding bugs that still give finite scores: the
    # sentiment label is a function of the review's words, so LoRA alone can fit it.
    trainer = _trainer(
        workspace, kind, max_steps=100, lora_dropout=0.0, target_modules="all-linear"
    )
    result = trainer.train_model(("sentiment",), seed=0)
    assert np.mean(result.losses[-10:]) < 0.5 * np.mean(result.losses[:10])
    assert result.scores["sentiment"] >= 5 / 6, result.predictions


def test_call_is_deterministic_and_survives_pickling(workspace):
    trainer = _trainer(workspace, "seq2seq", epochs=1)
    subset = ("topic", "sentiment")
    first = trainer(subset, seed=3)
    clone = pickle.loads(pickle.dumps(trainer))
    assert clone.task_names == ("sentiment", "topic", "summary")
    assert clone.greater_is_better is True
    assert clone(subset, seed=3) == first
    assert list(first) == list(subset)


def test_output_dir_gets_adapter_predictions_and_scores(workspace, tmp_path):
    trainer = _trainer(workspace, "causal", max_steps=2, output_dir=tmp_path)
    scores = trainer(("topic",), seed=0)
    (run_dir,) = list(tmp_path.iterdir())
    assert run_dir.name.startswith("topic-") and run_dir.name.endswith("-seed0")
    saved = json.loads((run_dir / "scores.json").read_text())
    assert saved["scores"] == scores and saved["n_steps"] == 2 and saved["seconds"] > 0
    assert (run_dir / "adapter" / "adapter_config.json").is_file()
    lines = (run_dir / "predictions.jsonl").read_text().splitlines()
    assert len(lines) == 8


def test_missing_model_path_names_the_parameter(workspace, tmp_path):
    trainer = HFLoRATrainer(tmp_path / "nowhere", workspace["tasks"])
    with pytest.raises(ValueError, match=r"'model_path'.*does not exist.*huggingface-cli"):
        trainer(("sentiment",), seed=0)


def test_unknown_metric_and_bad_parameters_are_rejected(workspace):
    with pytest.raises(ValueError, match=r"'metric' parameter of HFTaskSpec.*'bleu'"):
        HFTaskSpec("t", train_file="x.jsonl", metric="bleu")
    with pytest.raises(ValueError, match=r"'train_file'.*\.parquet"):
        HFTaskSpec("t", train_file="x.parquet")
    with pytest.raises(ValueError, match=r"'lora_r' parameter of HFLoRATrainer.*Got 0"):
        HFLoRATrainer("m", workspace["tasks"], lora_r=0)
    with pytest.raises(ValueError, match=r"'model_type'.*'encoder'"):
        HFLoRATrainer("m", workspace["tasks"], model_type="encoder")
    with pytest.raises(ValueError, match="duplicate names"):
        HFLoRATrainer("m", workspace["tasks"] + workspace["tasks"][:1])


def test_missing_dependency_names_the_extra(monkeypatch):
    from adagroup.trainers.hf import _trainer as hf

    monkeypatch.setitem(__import__("sys").modules, "peft", None)
    with pytest.raises(ImportError, match=r'pip install "adagroup\[hf\]"'):
        hf._import_hf()


def test_unknown_task_and_missing_template_field(workspace):
    trainer = _trainer(workspace, "seq2seq")
    with pytest.raises(ValueError, match=r"unknown tasks \['mnli'\]"):
        trainer(("sentiment", "mnli"), seed=0)
    with pytest.raises(TypeError, match="not a string"):
        trainer("sentiment", seed=0)
    spec = HFTaskSpec(
        "broken", train_file=workspace["tasks"][0].train_file, template="{premise} ?"
    )
    with pytest.raises(ValueError, match=r"field 'premise'.*\['label', 'text'\]"):
        _load_splits(spec)


def test_held_out_split_is_fixed_and_disjoint(workspace):
    spec = workspace["tasks"][0]
    train, held = _load_splits(spec)
    train2, held2 = _load_splits(spec)
    assert (len(train), len(held)) == (24, 6)
    assert held == held2 and train == train2
    topic_train, topic_eval = _load_splits(workspace["tasks"][1])
    assert (len(topic_train), len(topic_eval)) == (24, 8)
    assert topic_eval[0][0].startswith("question : what is a ")


def test_json_config_resolves_relative_paths(workspace, tmp_path):
    (tmp_path / "data").mkdir()
    source = workspace["tasks"][0].train_file
    (tmp_path / "data" / "s.jsonl").write_text(open(source).read())
    config = {
        "tasks": [
            {
                "name": "sentiment",
                "train_file": "data/s.jsonl",
                "template": "review : {text} sentiment :",
                "target_field": "label",
            }
        ]
    }
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps(config))
    (spec,) = load_task_specs(path)
    assert spec.train_file == str(tmp_path.resolve() / "data" / "s.jsonl")
    trainer = HFLoRATrainer(workspace["models"]["seq2seq"], path)
    assert trainer.task_names == ("sentiment",)
    trainer.check_inputs()
    path.write_text(json.dumps({"tasks": [{"name": "x", "train_file": "a.csv", "lr": 1}]}))
    with pytest.raises(ValueError, match=r"Unknown key\(s\) \['lr'\]"):
        load_task_specs(path)


def test_metrics():
    assert exact_match(["Yes.", " no ", "maybe"], ["yes", "No", "perhaps"]) == pytest.approx(2 / 3)
    assert rouge1(["the cat sat"], ["the cat ran"], backend="builtin") == pytest.approx(2 / 3)
    assert rouge1([""], ["anything"], backend="builtin") == 0.0
    with pytest.raises(ValueError, match="equal length"):
        exact_match(["a"], ["a", "b"])


def test_builtin_rouge_matches_rouge_score():
    pytest.importorskip("rouge_score")
    preds = ["The cat sat on the mat.", "a b c", "dogs bark", "", "Hello, World!"]
    refs = ["the cat is on the mat", "c b a a", "the dogs are barking", "x", "hello world"]
    for p, r in zip(preds, refs, strict=True):
        assert rouge1([p], [r], backend="builtin") == pytest.approx(
            rouge1([p], [r], backend="rouge_score")
        )
