"""scripts/neural_predictor_paper.py: the paper-sized GCN beside the reduced one, on a tiny
setting (a few epochs, two seeds), prints the table chapter 06 quotes."""

import pytest

from scripts import neural_predictor_paper as script


@pytest.mark.usefixtures("one_torch_thread")
def test_the_script_prints_both_sizes_and_both_predictors(capsys):
    table = script.run(["reduced", "paper"], [0, 1], n_train=40, epochs=2)
    assert len(table) == 2 * 2 * 2
    assert set(table["predictor"]) == {"one stage", "two stages"}
    one = table[table["predictor"] == "one stage"]
    assert one["queries to best"].between(1, 9445).all()
    assert table[table["predictor"] == "two stages"]["queries to best"].isna().all()
    paper = script.predictors("paper", None)["one stage"]
    assert (paper.hidden, paper.n_layers, paper.head, paper.batch_size, paper.epochs) == (144, 3, 128, 10, 300)
    assert script.main(["--seeds", "2", "--epochs", "1", "--n-train", "30", "--sizes", "reduced"]) == 0
    printed = capsys.readouterr().out
    assert "reduced, one stage" in printed and "queries to best:" in printed and "paper" not in printed
    with pytest.raises(SystemExit):
        script.main(["--seeds", "1"])
