-- title_zh: 各产品逐年合格率
-- title_en: Pass rate by product and year
-- description: Batches, fails and pass rate per product and plan year, over full-scope publications only (fail-only lists have no denominator).
-- param: product text optional 产品种类（完全一致）/ Product, exact
-- param: year_from integer optional 起始计划年度 / First plan year
-- param: year_to integer optional 截止计划年度 / Last plan year
SELECT plan_year,
       product,
       count(*) AS batches,
       sum(CASE WHEN result = 'fail' THEN 1 ELSE 0 END) AS fails,
       round(1.0 - sum(CASE WHEN result = 'fail' THEN 1 ELSE 0 END) * 1.0 / count(*), 4) AS pass_rate
FROM spot_checks
WHERE publication_scope = 'full'
  AND ($product IS NULL OR product = $product)
  AND ($year_from IS NULL OR plan_year >= $year_from)
  AND ($year_to IS NULL OR plan_year <= $year_to)
GROUP BY plan_year, product
ORDER BY plan_year, product
