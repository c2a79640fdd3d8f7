//! `diming coverage`: per-township coverage of one kind, as a table (Chinese, CJK
//! columns aligned), CSV or JSON — the same answer as `GET /api/v1/coverage`.

use super::args::{Output, RegistryArgs};
use diming::domain::FacilityKind;
use diming::registry::coverage::{rule as check_rule, Ask};
use diming::registry::Registry;
use std::io::Write;

pub struct Options {
    pub kind: FacilityKind,
    pub radius_m: Option<f64>,
    pub rule: Option<String>,
    pub include_xpcc: bool,
    pub county: Option<diming::domain::RegionCode>,
    pub format: Output,
}

pub async fn run(o: Options, args: &RegistryArgs) -> anyhow::Result<()> {
    let rules = super::load_rules(args.rules.as_deref())?;
    // `--region` builds an empty database and is also the area asked about.
    let ask = Ask {
        kind: Some(o.kind),
        rule: o.rule,
        radius_m: o.radius_m,
        statuses: None,
        include_xpcc: o.include_xpcc,
        county: o.county,
        region: if o.county.is_some() { None } else { args.region.as_ref().and_then(|r| r.area()) },
    };
    // Asked before the database is opened: a wrong rule loads nothing.
    check_rule(&rules, &ask).map_err(|e| anyhow::anyhow!("{e} (--rule / --kind)"))?;
    let store = super::open_store(args).await?;
    let registry = Registry::open(store, rules).await?;
    let question = registry.question(&ask).map_err(|e| anyhow::anyhow!("{e} (--county / --region)"))?;
    let (_, cov) = registry.coverage(&question).await?;
    let rule = &question.rule;
    let mut out = std::io::stdout().lock();
    match o.format {
        Output::Json => writeln!(out, "{}", serde_json::to_string_pretty(cov.as_ref())?)?,
        Output::Csv => {
            writeln!(out, "code,name,settlements,settlements_covered,population,population_covered,coverage_ratio,target,meets_target")?;
            for t in &cov.townships {
                writeln!(
                    out,
                    "{},{},{},{},{},{},{:.4},{},{}",
                    t.code,
                    t.name,
                    t.settlements,
                    t.settlements_covered,
                    t.population,
                    t.population_covered,
                    t.coverage_ratio,
                    t.target,
                    t.meets_target
                )?;
            }
        }
        Output::Table => {
            let rule_text = match rule.radius_m() {
                Some(r) => format!("{}（{} 米内）", rule.label, r),
                None => rule.label.clone(),
            };
            writeln!(out, "{} {} — 覆盖规则 rule: {} ({})", o.kind.label_zh(), o.kind, rule.id, rule_text)?;
            if cov.synthetic_data {
                writeln!(out, "注意：含合成示例数据 (includes synthetic sample data)")?;
            }
            let header = [
                "代码 code",
                "乡镇 township",
                "居民点",
                "已覆盖",
                "人口 population",
                "已覆盖人口",
                "覆盖率",
                "目标",
                "达标",
            ];
            // One line per township, per county of a prefecture or province, then the area.
            let line =
                |code: &str, name: String, n: [usize; 2], p: [u64; 2], ratio: f64, target: String, met: String| {
                    [
                        code.to_string(),
                        name,
                        n[0].to_string(),
                        n[1].to_string(),
                        p[0].to_string(),
                        p[1].to_string(),
                        format!("{:.1}%", ratio * 100.0),
                        target,
                        met,
                    ]
                };
            let pct = |t: f64| format!("{:.0}%", t * 100.0);
            let mut rows: Vec<[String; 9]> = cov
                .townships
                .iter()
                .map(|t| {
                    let met = if t.meets_target { "是" } else { "否" };
                    let (n, p) = ([t.settlements, t.settlements_covered], [t.population, t.population_covered]);
                    line(&t.code, t.name.clone(), n, p, t.coverage_ratio, pct(t.target), met.into())
                })
                .collect();
            if cov.counties.len() > 1 {
                for c in &cov.counties {
                    let (n, p) = ([c.settlements, c.settlements_covered], [c.population, c.population_covered]);
                    let met = format!("{}/{}", c.townships_meeting_target, c.townships);
                    rows.push(line(&c.code, format!("{}（全县）", c.name), n, p, c.coverage_ratio, pct(c.target), met));
                }
            }
            let c = &cov.county;
            let (area_code, area_name) = match (&cov.area, cov.counties.as_slice()) {
                (Some(a), [only]) if *a == only.code => (a.clone(), "全县 county".to_string()),
                (Some(a), _) => (a.clone(), "全地区 region".to_string()),
                (None, [only]) => (only.code.clone(), "全县 county".to_string()),
                (None, _) => (String::new(), "全部 all".to_string()),
            };
            let (n, p) = ([c.settlements, c.settlements_covered], [c.population, c.population_covered]);
            let met = format!("{}/{}", c.townships_meeting_target, c.townships);
            rows.push(line(&area_code, area_name, n, p, c.coverage_ratio, String::new(), met));
            print_table(&mut out, &header, &rows)?;
        }
    }
    Ok(())
}

/// A plain-text table whose columns line up with CJK text (double-width characters).
fn print_table(out: &mut impl Write, header: &[&str; 9], rows: &[[String; 9]]) -> std::io::Result<()> {
    use unicode_width::UnicodeWidthStr;
    let mut widths: Vec<usize> = header.iter().map(|h| h.width()).collect();
    for r in rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.width());
        }
    }
    let line = |cells: Vec<&str>| -> String {
        cells
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (c, w))| {
                let pad = " ".repeat(w - c.width());
                // Text left-aligned, numbers right-aligned.
                if i < 2 {
                    format!("{c}{pad}")
                } else {
                    format!("{pad}{c}")
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
    };
    writeln!(out, "{}", line(header.to_vec()))?;
    writeln!(out, "{}", widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().join("  "))?;
    for r in rows {
        writeln!(out, "{}", line(r.iter().map(String::as_str).collect()))?;
    }
    Ok(())
}
