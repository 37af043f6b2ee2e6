"""Usage patterns in plain Python (no ORM): cluster conversation vectors, label the clusters, match lineage.

- Vectors are sentence embeddings when the pipeline has them, or else TF-IDF vectors of the text in a fixed
  hashed feature space (`tfidf_vectors`), so that centroids of two periods stay comparable without a
  vocabulary being stored.
- Clustering is k-means on L2-normalised vectors (so Euclidean distance ranks like cosine), with k chosen
  by the silhouette score (cosine) on a sample, capped by `max_clusters`.
- Each cluster is labelled by class-based TF-IDF: the terms frequent in this cluster and rare in the
  others (tf of the term in the cluster × log(1 + average words per cluster / the term's frequency)),
  the terms at least DISTINCTIVE_LIFT times as frequent in the cluster as in the other clusters first: a word
  said everywhere ("thanks", "hello") is frequent in every cluster, so it would otherwise top the labels.
- A pattern keeps the identity of the previous period's pattern whose centroid is most similar, matched
  one-to-one (Hungarian algorithm) and only above a cosine threshold.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer, HashingVectorizer, TfidfTransformer
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import normalize

from analytics.scoring import text as cues

TFIDF_SPACE = "tfidf-hash-16384"
TFIDF_FEATURES = 2**14
# A stored TF-IDF centroid keeps its largest weights only: enough to compare, small enough for a JSON column.
TFIDF_CENTROID_TERMS = 256
SILHOUETTE_SAMPLE = 2000
MIN_PATTERN_SIZE = 10
# Words of 3 to 30 letters: a longer run of letters is a pasted token or a key, never a topic.
_WORDS = r"(?u)\b[a-zA-Z]{3,30}\b"
# Words that say nothing of what a conversation is about: scikit-learn's English stop words, and what users say to
# a chatbot whatever they ask ("hello", "thanks, perfect, that helps", "I just need to know", "I have a
# question"). Left in, they split each topic into a polite and a curt cluster, and top the labels.
CHAT_WORDS = frozenset(
    """hello hey thanks thank thx okay yes yeah sure great perfect awesome cool good nice bye goodbye appreciate
    cheers help helps helped helpful just need want let really know like tell question questions thing things
    """.split()  # noqa: SIM905 (a word list reads best as words)
)
STOP_WORDS = ENGLISH_STOP_WORDS | CHAT_WORDS
_STOP_LIST = sorted(STOP_WORDS)  # scikit-learn's vectorizers take a list
_WORD = re.compile(_WORDS)
# What a user says about the conversation itself rather than its subject (see `topical`).
_META = re.compile(
    "|".join(f"(?:{cue.pattern})" for cue in (cues.FRUSTRATION, cues.CONFUSION, cues.CORRECTION, cues.HANDOFF))
)
# A label word's share of its cluster's words is at least this many times its share of the other clusters' words.
DISTINCTIVE_LIFT = 2.0


@dataclass
class Cluster:
    members: list[int]  # indexes into the analysed conversations
    centroid: np.ndarray  # L2-normalised, dense
    similarities: list[float]  # cosine of each member to the centroid, in `members` order
    representative: int  # the member closest to the centroid
    keywords: list[str] = field(default_factory=list)
    label: str = ""  # its first three keywords, more where a larger cluster of the run has those (unique_labels)


LABEL_WORDS = 3


def unique_labels(clusters: Sequence[Cluster]) -> None:
    """Label each cluster by its first LABEL_WORDS keywords; where a larger one of the same run already has that label
    (clusters that share their top words: "bag / laptop / vegan" twice, 29 and 5 conversations), add its next keywords
    until it differs, and a number if its keywords run out. Clusters are given largest first."""
    taken: set[str] = set()
    for cluster in clusters:
        words = LABEL_WORDS
        label = " / ".join(cluster.keywords[:words]) or "(no distinctive words)"
        while label in taken and words < len(cluster.keywords):
            words += 1
            label = " / ".join(cluster.keywords[:words])
        base, number = label, 2
        while label in taken:
            label, number = f"{base} ({number})", number + 1
        cluster.label = label
        taken.add(label)


def topical(text: str) -> bool:
    """Whether a user turn says what the conversation is about: a word beyond stop words and pleasantries
    ("Thanks, that helps!", "Hello? Are you still there?" do not), and, in a turn that complains, corrects the
    bot or asks for a person (the scoring's cues for these), two words beyond the cues.

    "Let me speak to a real person.", "No no, I meant my other order." or "Ugh, this is so frustrating" say how
    the conversation went, which its health and failures report; a pattern is what people asked about. Left in,
    they split one topic into patterns by how it went and give patterns their words ("let / person / real").
    "I want a refund for the broken blender, this is ridiculous" keeps its request.
    """
    rest, cues_found = _META.subn(" ", text.lower())
    return sum(word not in STOP_WORDS for word in _WORD.findall(rest)) >= (2 if cues_found else 1)


def tfidf_vectors(texts: Sequence[str]) -> sparse.csr_matrix:
    """TF-IDF rows (L2-normalised) in a hashed space of fixed size, comparable across periods."""
    if not texts:  # a quiet week: scikit-learn's vectoriser cannot take an empty list
        return sparse.csr_matrix((0, TFIDF_FEATURES))
    hashed = HashingVectorizer(
        n_features=TFIDF_FEATURES, alternate_sign=False, norm=None, stop_words=_STOP_LIST, token_pattern=_WORDS
    ).transform(texts)
    return normalize(TfidfTransformer(sublinear_tf=True).fit_transform(hashed))


def _kmeans(vectors, k: int, seed: int) -> KMeans:
    # Ten starts: with three, one order of the conversations in about thirty (they are read by their random ids)
    # fell into a split that merged two topics (test_the_order_of_the_conversations_does_not_change_the_topics_found).
    # bench/patterns.py, 10,000 conversations: 2.1 -> 2.8 s by TF-IDF, 4.5 -> 7.7 s by embeddings.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # fewer distinct points than k: fewer clusters
        return KMeans(n_clusters=k, n_init=10, random_state=seed).fit(vectors)


def choose_k(vectors, *, max_clusters: int, seed: int = 0) -> int:
    """The number of clusters (1..min(max_clusters, √n, n / MIN_PATTERN_SIZE)) with the best cosine silhouette."""
    n = vectors.shape[0]
    if n < 4:
        return 1
    rng = np.random.default_rng(seed)
    sample = vectors[rng.choice(n, size=min(n, SILHOUETTE_SAMPLE), replace=False)]
    best_k, best_score = 1, -1.0
    # At most √n clusters, and about MIN_PATTERN_SIZE conversations per cluster on average: near-duplicate texts
    # would otherwise win the silhouette as tiny clusters, and a pattern of a handful of conversations says little.
    for k in range(2, min(max_clusters, math.isqrt(n), n // MIN_PATTERN_SIZE) + 1):
        labels = _kmeans(sample, k, seed).labels_
        if len(set(labels.tolist())) < 2:
            continue
        score = silhouette_score(sample, labels, metric="cosine")
        if score > best_score:
            best_k, best_score = k, score
    return best_k


def distinctive_terms(texts: Sequence[str], labels: Sequence[int], *, top_n: int = 8) -> dict[int, list[str]]:
    """Class-based TF-IDF: per cluster label, its `top_n` most distinctive words, best first."""
    classes = sorted(set(labels))
    try:
        counts = CountVectorizer(stop_words=_STOP_LIST, token_pattern=_WORDS, max_features=50_000).fit(texts)
    except ValueError:  # no words at all (empty or stop-words-only texts)
        return {label: [] for label in classes}
    matrix = counts.transform(texts)
    position = {label: i for i, label in enumerate(classes)}
    membership = sparse.csr_matrix(
        (np.ones(len(labels)), ([position[label] for label in labels], np.arange(len(labels)))),
        shape=(len(classes), len(labels)),
    )
    per_class = (membership @ matrix).toarray().astype(np.float64)  # words of each cluster, summed
    totals = per_class.sum(axis=1, keepdims=True)
    tf = np.divide(per_class, totals, out=np.zeros_like(per_class), where=totals > 0)
    frequency = per_class.sum(axis=0)
    average_words = totals.mean()
    idf = np.log(1 + average_words / np.maximum(frequency, 1))
    scores = tf * idf
    rest_words = totals.sum() - totals
    rest = np.divide(frequency - per_class, rest_words, out=np.zeros_like(per_class), where=rest_words > 0)
    distinctive = tf >= DISTINCTIVE_LIFT * rest  # with one cluster, every word (rest is 0)
    vocabulary = counts.get_feature_names_out()
    out = {}
    for label, row, keep in zip(classes, scores, distinctive, strict=True):
        # The distinctive words by score, then (a cluster with fewer than top_n of them) the others by score.
        best = np.lexsort((-row, ~keep))[:top_n]
        out[label] = [str(vocabulary[i]) for i in best if row[i] > 0]
    return out


def build_clusters(texts: Sequence[str], vectors, *, max_clusters: int, seed: int = 0) -> list[Cluster]:
    """Cluster the rows of `vectors` (dense or sparse; one per text) and label each cluster; largest first."""
    n = vectors.shape[0]
    if n == 0:
        return []
    vectors = normalize(vectors)
    k = choose_k(vectors, max_clusters=max_clusters, seed=seed)
    labels = _kmeans(vectors, k, seed).labels_ if k > 1 else np.zeros(n, dtype=int)
    keywords = distinctive_terms(texts, labels.tolist())
    clusters = []
    for label in sorted(set(labels.tolist())):
        members = np.flatnonzero(labels == label)
        rows = vectors[members]
        centroid = np.asarray(rows.mean(axis=0)).ravel()
        centroid = centroid / (np.linalg.norm(centroid) or 1.0)
        similarities = np.asarray(rows @ centroid).ravel()
        clusters.append(
            Cluster(
                members=members.tolist(),
                centroid=centroid,
                similarities=[round(float(s), 6) for s in similarities],
                representative=int(members[int(np.argmax(similarities))]),
                keywords=keywords[label],
            )
        )
    clusters.sort(key=lambda c: (-len(c.members), c.members[0]))
    unique_labels(clusters)
    return clusters


def centroid_to_json(vector: np.ndarray, *, space: str) -> dict:
    """A centroid as stored on the pattern: dense for embeddings, its largest weights for TF-IDF."""
    if space == TFIDF_SPACE:
        top = np.argsort(-vector, kind="stable")[:TFIDF_CENTROID_TERMS]
        top = top[vector[top] > 0]
        return {"space": space, "indices": top.tolist(), "values": [round(float(v), 6) for v in vector[top]]}
    return {"space": space, "values": [round(float(v), 6) for v in vector]}


def centroid_from_json(data: dict, *, dimensions: int) -> np.ndarray:
    """The stored centroid as a dense L2-normalised vector of `dimensions`."""
    vector = np.zeros(dimensions)
    if "indices" in data:
        vector[np.asarray(data["indices"], dtype=int)] = data["values"]
    else:
        vector[: len(data["values"])] = data["values"]
    return vector / (np.linalg.norm(vector) or 1.0)


def match_lineage(
    previous: Sequence[np.ndarray], current: Sequence[np.ndarray], *, min_similarity: float
) -> dict[int, tuple[int, float]]:
    """One-to-one matches {current index: (previous index, cosine)} maximising total similarity, above a floor."""
    if not previous or not current:
        return {}
    similarity = np.asarray(current) @ np.asarray(previous).T
    rows, cols = linear_sum_assignment(-similarity)
    return {
        int(r): (int(c), float(similarity[r, c]))
        for r, c in zip(rows, cols, strict=True)
        if similarity[r, c] >= min_similarity and not math.isnan(similarity[r, c])
    }
