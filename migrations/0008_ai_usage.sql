-- thoth-bot store: AI model usage per UTC day, owner, repository and model, for `thoth-bot
-- costs` and the daily and monthly budgets. Added to with an upsert, so concurrent reviews on
-- several replicas never lose a count. Cost in micro-USD: integer sums are exact.
CREATE TABLE ai_usage (
    day date NOT NULL,
    owner text NOT NULL,
    repo text NOT NULL,
    model text NOT NULL,
    requests bigint NOT NULL,
    input_tokens bigint NOT NULL,
    output_tokens bigint NOT NULL,
    cost_micro_usd bigint NOT NULL,
    PRIMARY KEY (day, owner, repo, model)
);
