-- title_zh: 最常见的不合格项目
-- title_en: Most common failed test items
-- description: Failed test items by how many failed batches list them, for one product or all.
-- param: product text optional 产品种类（完全一致）/ Product, exact
-- param: top integer optional 返回条数 / Rows returned (default 20)
SELECT item, count(*) AS failed_batches
FROM (SELECT unnest(failed_items) AS item FROM spot_checks
      WHERE result = 'fail' AND ($product IS NULL OR product = $product))
GROUP BY item
ORDER BY failed_batches DESC, item
LIMIT coalesce($top, 20)
