-- title_zh: 按原产国统计的未准入境食品
-- title_en: Refused food imports by origin country
-- description: Batches of food refused entry per origin country and year, with how many products and reasons.
-- param: year integer optional 年份 / Year
SELECT origin_country,
       year,
       count(*) AS batches,
       approx_distinct(product) AS products,
       count(DISTINCT reason) AS reasons
FROM refused_food_imports
WHERE ($year IS NULL OR year = $year)
GROUP BY origin_country, year
ORDER BY batches DESC, origin_country, year
