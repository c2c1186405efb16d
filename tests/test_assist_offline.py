import os
import subprocess
import sys
import textwrap

# The child forbids every way nltk could fetch data, then runs each assistance piece end to end. Any need
# for a corpus would raise LookupError (the only data path is the empty folder); any download attempt or
# network connection raises before leaving the process.
SCRIPT = textwrap.dedent(
    """
    import os, socket, sys
    import nltk
    import nltk.downloader

    empty = os.environ["NLTK_DATA"]
    assert nltk.data.path[0] == empty, nltk.data.path
    nltk.data.path[:] = [empty]  # ignore any data installed machine-wide

    def refuse(*args, **kwargs):
        raise AssertionError("download or network attempted")

    nltk.download = refuse
    nltk.downloader.Downloader.download = refuse
    nltk.downloader.download = refuse
    socket.socket.connect = refuse
    socket.create_connection = refuse

    from coding.assist.evaluate import evaluate
    from coding.assist.kwic import kwic
    from coding.assist.similar import SimilarityIndex
    from coding.assist.suggest import CodeSuggester
    from coding.assist.synthetic import make_dataset
    from coding.assist.themes import candidate_themes, no_fit_queue

    data = make_dataset(120, uncoded=20, seed=3)
    index = SimilarityIndex()
    index.add(data.units, data.truth)
    assert index.query("u000001", k=3)
    suggester = CodeSuggester(data.codebook).fit(data.units, data.truth)
    assert suggester.suggest("The food was cold")[0].code == "Environment/Food"
    assert no_fit_queue(data.units, suggester)
    assert candidate_themes({u: data.units[u] for u in data.planted}, n_themes=2)
    assert kwic(data.units, "waiting")
    report = evaluate(data.units, data.codings, folds=2)
    assert report["suggestions_vs_humans"]["micro_f1"] is not None
    assert os.listdir(empty) == []
    assert "flask" not in sys.modules  # coding/ is a plain library
    print("offline ok")
    """
)


def test_whole_pipeline_runs_with_empty_nltk_data_and_no_download(tmp_path):
    empty = tmp_path / "nltk_data"
    empty.mkdir()
    env = {**os.environ, "NLTK_DATA": str(empty)}
    done = subprocess.run([sys.executable, "-W", "error", "-c", SCRIPT], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "offline ok"
    assert list(empty.iterdir()) == []
