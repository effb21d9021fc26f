//! The layout contract: the drawn rectangles, written into the SVG's root
//! element as data attributes, and the check that no legend overlaps a
//! plot, no two plots overlap and no panel draws too many series.

/// A pixel rectangle: left, top, right, bottom.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect(pub i32, pub i32, pub i32, pub i32);

impl Rect {
    pub fn overlaps(&self, o: &Rect) -> bool {
        self.0 < o.2 && o.0 < self.2 && self.1 < o.3 && o.1 < self.3
    }

    pub(crate) fn attr(&self) -> String {
        format!("{},{},{},{}", self.0, self.1, self.2, self.3)
    }
}

/// What a drawn chart's layout was: for the SVG's data attributes.
#[derive(Debug, Default, Clone)]
pub struct Layout {
    pub plots: Vec<Rect>,
    pub legend: Option<Rect>,
    /// Measured series per drawn panel, in the order of `plots`.
    pub series: Vec<usize>,
}

/// Checks a drawn chart's layout from the data attributes on its root
/// element: the legend box overlaps no plotting area, no two plotting
/// areas overlap, every box lies inside the image, and no panel draws
/// more than its `data-max-series` measured series. Returns every fault
/// found, or Ok. The tests run it over every chart (and the browser check
/// over the fonts a browser really uses).
pub fn check_layout(svg: &str) -> Result<(), String> {
    let attr = |name: &str| -> Option<&str> {
        let root = &svg[svg.find("<svg ")?..];
        let root = &root[..root.find('>')?];
        let key = format!(" {name}=\"");
        let i = root.find(&key)? + key.len();
        root[i..].split('"').next()
    };
    let num = |s: &str| s.trim().parse::<i32>().map_err(|e| format!("`{s}`: {e}"));
    let rect = |s: &str| -> Result<Rect, String> {
        let v: Vec<i32> = s.split(',').map(num).collect::<Result<_, _>>()?;
        match v[..] {
            [a, b, c, d] if a <= c && b <= d => Ok(Rect(a, b, c, d)),
            _ => Err(format!("`{s}` is not a rectangle left,top,right,bottom")),
        }
    };
    let need = |name: &str| attr(name).ok_or_else(|| format!("the SVG has no {name}"));
    let (w, h) = (num(need("width")?)?, num(need("height")?)?);
    let plots: Vec<Rect> = need("data-plots")?
        .split(';')
        .filter(|s| !s.is_empty())
        .map(rect)
        .collect::<Result<_, _>>()?;
    let legend = Some(need("data-legend")?)
        .filter(|s| !s.is_empty())
        .map(rect)
        .transpose()?;
    let series: Vec<i32> = need("data-series")?
        .split(';')
        .filter(|s| !s.is_empty())
        .map(num)
        .collect::<Result<_, _>>()?;
    let max = num(need("data-max-series")?)?;
    let mut faults = Vec::new();
    let image = Rect(0, 0, w, h);
    for (i, p) in plots.iter().enumerate() {
        if let Some(l) = legend.filter(|l| l.overlaps(p)) {
            faults.push(format!("the legend {l:?} overlaps plot {i} {p:?}"));
        }
        for (j, q) in plots.iter().enumerate().skip(i + 1) {
            if p.overlaps(q) {
                faults.push(format!("plot {i} {p:?} overlaps plot {j} {q:?}"));
            }
        }
    }
    for r in plots.iter().chain(legend.iter()) {
        if r.0 < image.0 || r.1 < image.1 || r.2 > image.2 || r.3 > image.3 {
            faults.push(format!("{r:?} leaves the {w}×{h} image"));
        }
    }
    if series.len() != plots.len() {
        faults.push(format!(
            "{} series counts for {} plots",
            series.len(),
            plots.len()
        ));
    }
    for (i, n) in series.iter().enumerate().filter(|(_, n)| **n > max) {
        faults.push(format!("plot {i} draws {n} series, more than {max}"));
    }
    if faults.is_empty() {
        Ok(())
    } else {
        Err(faults.join("; "))
    }
}
