//! The findings-per-rule bar chart, laid out here and drawn as inline SVG by the templates (the
//! labels go through askama's escaping like any other text).

/// One bar.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub label: String,
    pub count: u32,
    /// Top of the bar's row.
    pub y: u32,
    /// Baseline of the row's text.
    pub text_y: u32,
    /// Bar length in SVG units.
    pub width: u32,
    /// Where the count is written, right of the bar.
    pub count_x: u32,
}

/// A horizontal bar chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub width: u32,
    pub height: u32,
    /// Where bars start (labels are left of it).
    pub bar_x: u32,
    pub bars: Vec<Bar>,
}

const ROW: u32 = 22;
const LABEL_WIDTH: u32 = 220;
const BAR_MAX: u32 = 300;
/// Characters of a rule id shown before it is cut.
const LABEL_CHARS: usize = 30;

impl Chart {
    /// Bars for `(label, count)`, biggest first, at most `max` of them.
    pub fn bars(mut counts: Vec<(String, u32)>, max: usize) -> Chart {
        counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        counts.truncate(max);
        let top = counts.iter().map(|c| c.1).max().unwrap_or(1).max(1);
        let bars = counts
            .into_iter()
            .enumerate()
            .map(|(i, (label, count))| {
                let y = i as u32 * ROW;
                let width = (count * BAR_MAX / top).max(2);
                let label = if label.chars().count() > LABEL_CHARS {
                    let mut l: String = label.chars().take(LABEL_CHARS - 1).collect();
                    l.push('…');
                    l
                } else {
                    label
                };
                Bar {
                    label,
                    count,
                    y,
                    text_y: y + 15,
                    width,
                    count_x: LABEL_WIDTH + width + 6,
                }
            })
            .collect::<Vec<_>>();
        Chart {
            width: LABEL_WIDTH + BAR_MAX + 50,
            height: (bars.len() as u32 * ROW).max(ROW),
            bar_x: LABEL_WIDTH,
            bars,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_biggest_and_sort() {
        let c = Chart::bars(vec![("a".into(), 1), ("b".into(), 4), ("c".into(), 2)], 2);
        assert_eq!(c.bars.len(), 2);
        assert_eq!((c.bars[0].label.as_str(), c.bars[0].width), ("b", BAR_MAX));
        assert_eq!(
            (c.bars[1].label.as_str(), c.bars[1].width),
            ("c", BAR_MAX / 2)
        );
        assert_eq!(c.bars[1].y, ROW);
    }
}
