//! How `progress` looks: the rows in each format, at a terminal the days
//! left, the pace needed and a sparkline, and the burn-down chart (SVG or
//! PNG, drawn with plotters, its text in the bundled DejaVu Sans so that it
//! renders on a machine with no fonts installed).

use std::io::{self, IsTerminal};
use std::path::Path;

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{Sink, message, print_text, shown};
use crate::cli::Format;
use crate::commands::progress::{COLUMNS, CONTACT_COLUMNS, Point, Progress, Rows};
use crate::error::UserError;
use crate::files::{Guarded, Target};
use crate::rules::Section;

/// What a chart is called in messages about its file.
pub const CHART: &str = "the chart";

/// A count that may be missing (the first snapshot's fixed and new).
fn maybe(n: Option<u64>) -> String {
    n.map(|n| n.to_string()).unwrap_or_default()
}

/// `progress` in the chosen format; at a terminal, a table ends with what
/// is left to do.
pub fn progress(p: &Progress, format: Format) -> io::Result<()> {
    let headers = match &p.rows {
        Rows::Days(_) => COLUMNS,
        Rows::Contacts(_) => CONTACT_COLUMNS,
    };
    let mut sink = Sink::stdout(format, headers)?;
    match &p.rows {
        Rows::Days(rows) => {
            for r in rows {
                let cells = [
                    r.date.to_string(),
                    r.accounts.to_string(),
                    r.needing_action.to_string(),
                    r.sections[0].to_string(),
                    r.sections[1].to_string(),
                    r.sections[2].to_string(),
                    r.ok.to_string(),
                    maybe(r.fixed),
                    maybe(r.new),
                ];
                sink.record(&cells, &DayRecord::from(r))?;
            }
        }
        Rows::Contacts(rows) => {
            for r in rows {
                let cells = [
                    r.date.to_string(),
                    r.contact_code.clone(),
                    r.contact_name.clone(),
                    r.needing_action.to_string(),
                    maybe(r.fixed),
                    maybe(r.new),
                ];
                sink.record(&cells, &ContactRecord::from(r))?;
            }
        }
    }
    let empty = sink.rows() == 0;
    sink.finish()?;
    if format != Format::Table {
        return Ok(());
    }
    if empty {
        message(&match &p.contact {
            Some(code) => format!(
                "no snapshot has accounts needing action under {code}: each whole-store \
                 `cqrs-admin audit` records one for its day"
            ),
            None => "no snapshots yet: each whole-store `cqrs-admin audit` (no filters) \
                     records one for its day"
                .to_string(),
        });
        return Ok(());
    }
    // For a person only: piped output stays plain rows.
    if io::stdout().is_terminal() {
        print_text(&shown(&footer(p)))?;
    }
    Ok(())
}

/// The days left, the pace needed and the sparkline.
fn footer(p: &Progress) -> String {
    let points = p.points();
    let totals: Vec<u64> = points.iter().map(|pt| pt.sections.iter().sum()).collect();
    let last = totals.last().copied().unwrap_or(0);
    let mut text = format!("\n{}\n", p.dates.describe());
    match p.pace_needed() {
        Some(pace) if last > 0 => text.push_str(&format!(
            "{last} account{} still need{} action: about {pace} a day to reach zero by cutover.\n",
            if last == 1 { "" } else { "s" },
            if last == 1 { "s" } else { "" },
        )),
        _ if last == 0 => text.push_str("No account needed action at the latest snapshot.\n"),
        _ => text.push_str(&format!(
            "{last} account{} still needed action at the latest snapshot.\n",
            if last == 1 { "" } else { "s" }
        )),
    }
    text.push_str(&format!(
        "Needing action, {} to {}: {}\n",
        points
            .first()
            .map(|pt| pt.date.to_string())
            .unwrap_or_default(),
        points
            .last()
            .map(|pt| pt.date.to_string())
            .unwrap_or_default(),
        sparkline(&totals)
    ));
    text
}

/// One character per value, from the lowest (▁) to the highest (█), as
/// sparklines are drawn: the shape of the burn-down, at a glance. All
/// values equal are a flat line (▄; ▁ if they are all zero).
pub fn sparkline(values: &[u64]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = values.iter().copied().max().unwrap_or(0);
    let min = values.iter().copied().min().unwrap_or(0);
    values
        .iter()
        .map(|&v| {
            if max == 0 {
                BARS[0]
            } else if max == min {
                BARS[3]
            } else {
                let step = ((v - min) as u128 * 7 + (max - min) as u128 / 2) / (max - min) as u128;
                BARS[step as usize]
            }
        })
        .collect()
}

#[derive(serde::Serialize)]
struct DayRecord {
    date: String,
    accounts: u64,
    needing_action: u64,
    #[serde(rename = "contact-commissioner")]
    contact_commissioner: u64,
    #[serde(rename = "no-nhsmail")]
    no_nhsmail: u64,
    administrator: u64,
    ok: u64,
    fixed: Option<u64>,
    new: Option<u64>,
}

impl From<&crate::store::SnapshotRow> for DayRecord {
    fn from(r: &crate::store::SnapshotRow) -> Self {
        DayRecord {
            date: r.date.to_string(),
            accounts: r.accounts,
            needing_action: r.needing_action,
            contact_commissioner: r.sections[0],
            no_nhsmail: r.sections[1],
            administrator: r.sections[2],
            ok: r.ok,
            fixed: r.fixed,
            new: r.new,
        }
    }
}

#[derive(serde::Serialize)]
struct ContactRecord<'a> {
    date: String,
    contact_code: &'a str,
    contact_name: &'a str,
    needing_action: u64,
    fixed: Option<u64>,
    new: Option<u64>,
}

impl<'a> From<&'a crate::store::ContactProgressRow> for ContactRecord<'a> {
    fn from(r: &'a crate::store::ContactProgressRow) -> Self {
        ContactRecord {
            date: r.date.to_string(),
            contact_code: &r.contact_code,
            contact_name: &r.contact_name,
            needing_action: r.needing_action,
            fixed: r.fixed,
            new: r.new,
        }
    }
}

/// The chart's kind, by the file's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartKind {
    Svg,
    Png,
}

impl ChartKind {
    /// Refuses a file name that is neither `.svg` nor `.png` (ignoring case).
    pub fn of(path: &Path) -> Result<ChartKind, UserError> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("svg") => Ok(ChartKind::Svg),
            Some("png") => Ok(ChartKind::Png),
            _ => Err(UserError::Refused(format!(
                "{}: the chart is drawn as SVG or PNG, chosen by the file's extension: name \
                 the file .svg or .png; nothing was written",
                path.display()
            ))),
        }
    }
}

/// The chart's size in pixels: readable on a laptop screen and a slide.
pub const CHART_SIZE: (u32, u32) = (1200, 700);

/// Checks `--chart`'s file before anything is read: its extension and the
/// file rules (never a link, a device or the store; an existing file only
/// with `--force`).
pub fn check_chart(path: &Path, force: bool, guarded: &Guarded) -> Result<(Target, ChartKind)> {
    let kind = ChartKind::of(path)?;
    if path.as_os_str() == "-" {
        return Err(UserError::Refused(
            "the chart is written to a file, not to standard output: give its path, ending \
             .svg or .png"
                .to_string(),
        )
        .into());
    }
    Ok((Target::check(path, force, guarded, CHART)?, kind))
}

/// Draws the chart and writes it to its file (checked by [`check_chart`]).
pub fn chart(p: &Progress, target: &Target, kind: ChartKind, guarded: &Guarded) -> Result<()> {
    let bytes = render(p, kind)?;
    let Target::File(file) = target else {
        unreachable!("check_chart refuses standard output");
    };
    let mut out = file.create(CHART)?;
    io::Write::write_all(&mut out, &bytes)?;
    out.commit(guarded, CHART)?;
    message(&format!(
        "wrote the burn-down chart of {} snapshot{} to {}",
        p.points().len(),
        if p.points().len() == 1 { "" } else { "s" },
        target.describe()
    ));
    Ok(())
}

/// The bundled font (assets/fonts: DejaVu Sans, Bitstream Vera licence).
const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
const FAMILY: &str = "sans-serif";

fn register_font() -> Result<()> {
    static REGISTERED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let ok = *REGISTERED
        .get_or_init(|| plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_ok());
    if ok {
        Ok(())
    } else {
        anyhow::bail!("the bundled font could not be read: this is a fault in cqrs-admin")
    }
}

/// The chart as the file's bytes.
pub fn render(p: &Progress, kind: ChartKind) -> Result<Vec<u8>> {
    register_font()?;
    let (w, h) = CHART_SIZE;
    match kind {
        ChartKind::Svg => {
            let mut svg = String::new();
            {
                let root = SVGBackend::with_string(&mut svg, CHART_SIZE).into_drawing_area();
                draw(&root, p).map_err(|e| anyhow::anyhow!("drawing the chart: {e}"))?;
                root.present()
                    .map_err(|e| anyhow::anyhow!("drawing the chart: {e}"))?;
            }
            Ok(svg.into_bytes())
        }
        ChartKind::Png => {
            let mut pixels = vec![0u8; (w * h * 3) as usize];
            {
                let root = BitMapBackend::with_buffer(&mut pixels, CHART_SIZE).into_drawing_area();
                draw(&root, p).map_err(|e| anyhow::anyhow!("drawing the chart: {e}"))?;
                root.present()
                    .map_err(|e| anyhow::anyhow!("drawing the chart: {e}"))?;
            }
            let mut out = Vec::new();
            {
                let mut encoder = png::Encoder::new(&mut out, w, h);
                encoder.set_color(png::ColorType::Rgb);
                encoder.set_depth(png::BitDepth::Eight);
                let mut writer = encoder.write_header()?;
                writer.write_image_data(&pixels)?;
            }
            Ok(out)
        }
    }
}

/// The colour of each section's line, in rules.md's order.
const SECTION_COLOURS: [RGBColor; 3] = [
    RGBColor(0, 94, 184),  // NHS blue
    RGBColor(237, 139, 0), // orange
    RGBColor(0, 150, 57),  // green
];

fn section_label(section: Section) -> &'static str {
    match section {
        Section::ContactCommissioner => "contact-commissioner",
        Section::NoNhsmail => "no-nhsmail",
        Section::Administrator => "administrator",
    }
}

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// The burn-down: accounts needing action by date (all, and by section),
/// the straight line from the first snapshot to zero at cutover, and
/// cutover marked.
fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, p: &Progress) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let points: Vec<Point> = p.points();
    let Some(first) = points.first() else {
        return Ok(());
    };
    let start = first.date;
    let cutover = p.dates.cutover;
    let day = |d: chrono::NaiveDate| (d - start).num_days();
    let last_day = points.last().map_or(0, |pt| day(pt.date));
    let x_end = last_day.max(day(cutover)).max(1) + 1;
    let x_start = day(cutover).min(0) - 1;
    let total = |pt: &Point| pt.sections.iter().sum::<u64>();
    let top = points.iter().map(total).max().unwrap_or(0).max(1);
    let y_end = top + top / 10 + 1;
    let title = match &p.contact {
        Some(code) => format!("Accounts needing action before cutover: {code}"),
        None => "Accounts needing action before cutover".to_string(),
    };
    let mut chart = ChartBuilder::on(root)
        .caption(title, (FAMILY, 30))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(x_start..x_end, 0u64..y_end)?;
    let date_of = |x: &i64| {
        (start + chrono::Duration::days(*x))
            .format("%-d %b")
            .to_string()
    };
    chart
        .configure_mesh()
        .x_labels(12)
        .y_labels(10)
        .x_label_formatter(&date_of)
        .x_desc("date")
        .y_desc("accounts needing action")
        .label_style((FAMILY, 16))
        .axis_desc_style((FAMILY, 18))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()?;

    // The line to zero at cutover: where the total must go.
    let first_total = total(first);
    chart
        .draw_series(DashedLineSeries::new(
            [(0, first_total), (day(cutover), 0)],
            10,
            6,
            RGBColor(120, 120, 120).stroke_width(2),
        ))?
        .label("straight line to zero at cutover")
        .legend(|(x, y)| {
            PathElement::new(
                [(x, y), (x + 24, y)],
                RGBColor(120, 120, 120).stroke_width(2),
            )
        });
    // Cutover day.
    chart.draw_series(DashedLineSeries::new(
        [(day(cutover), 0), (day(cutover), y_end)],
        6,
        4,
        RED.stroke_width(2),
    ))?;
    // Left of the line, so that it is never cut off at the chart's edge.
    chart.draw_series(std::iter::once(Text::new(
        format!("cutover {} ", cutover.format("%-d %b %Y")),
        (day(cutover), y_end / 2),
        (FAMILY, 18)
            .into_font()
            .color(&RED)
            .pos(Pos::new(HPos::Right, VPos::Center)),
    )))?;

    let series = |f: &dyn Fn(&Point) -> u64| -> Vec<(i64, u64)> {
        points.iter().map(|pt| (day(pt.date), f(pt))).collect()
    };
    let all = series(&total);
    chart
        .draw_series(LineSeries::new(all.clone(), BLACK.stroke_width(3)))?
        .label("all needing action")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 24, y)], BLACK.stroke_width(3)));
    chart.draw_series(all.iter().map(|&pt| Circle::new(pt, 4, BLACK.filled())))?;
    for (i, section) in Section::ALL.iter().enumerate() {
        let colour = SECTION_COLOURS[i];
        chart
            .draw_series(LineSeries::new(
                series(&|pt| pt.sections[i]),
                colour.stroke_width(2),
            ))?
            .label(section_label(*section))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 24, y)], colour.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.9))
        .border_style(RGBColor(180, 180, 180))
        .label_font((FAMILY, 16))
        .draw()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::sparkline;

    #[test]
    fn a_sparkline_spans_lowest_to_highest() {
        assert_eq!(sparkline(&[30, 29]), "█▁");
        assert_eq!(sparkline(&[8, 4, 6, 0]), "█▅▆▁");
        assert_eq!(sparkline(&[5, 5]), "▄▄");
        assert_eq!(sparkline(&[0, 0]), "▁▁");
        assert_eq!(sparkline(&[]), "");
    }
}
