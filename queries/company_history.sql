-- title_zh: 企业抽查记录
-- title_en: A company's history
-- description: Every spot-check batch of the enterprises whose name contains the text (or whose 统一社会信用代码 equals it), newest first.
-- param: company text required 企业名称的一部分或统一社会信用代码 / Part of the name, or the credit code
SELECT announced_on, plan_year, check_level, product, brand, model_spec, result,
       array_to_string(failed_items, ';') AS failed_items, enterprise, enterprise_province,
       enterprise_uscc, authority, resource_id, record_id
FROM spot_checks
WHERE strpos(enterprise, $company) > 0 OR enterprise_uscc = $company
ORDER BY announced_on DESC NULLS LAST, record_id
