-- title_zh: 合格率最低的产品
-- title_en: Worst-performing products
-- description: Products with the lowest pass rate over full-scope publications, among products with at least min_batches sampled batches.
-- param: min_batches integer optional 最少批次 / Minimum sampled batches (default 30)
-- param: year_from integer optional 起始计划年度 / First plan year
-- param: top integer optional 返回条数 / Rows returned (default 20)
SELECT product,
       count(*) AS batches,
       sum(CASE WHEN result = 'fail' THEN 1 ELSE 0 END) AS fails,
       round(1.0 - sum(CASE WHEN result = 'fail' THEN 1 ELSE 0 END) * 1.0 / count(*), 4) AS pass_rate
FROM spot_checks
WHERE publication_scope = 'full'
  AND ($year_from IS NULL OR plan_year >= $year_from)
GROUP BY product
HAVING count(*) >= coalesce($min_batches, 30)
ORDER BY pass_rate ASC, batches DESC, product
LIMIT coalesce($top, 20)
