//! Suggestions before the first label: the backbone's own ImageNet classifier, read
//! through the session's class names. ImageNet's 1,000 classes are WordNet noun
//! synsets (`assets/imagenet-classes.tsv`, made by `scripts/make-imagenet-classes.py`),
//! so a session class can name one of them (`great_dane` is "Great Dane") or a synset
//! above some of them (`dog` gathers every dog breed, `automobile` the car classes).
//!
//! A session class scores the mean of the classifier's probabilities over the ImageNet
//! classes it gathers, and a suggestion's confidence is its share of the scores. The
//! mean, not the sum: a class gathering 118 breeds would otherwise take in everything
//! (CIFAR-10, no labels: 52 % with the mean, 36 % with the sum, on the 8,000 pool
//! photos; a share of the pool's average sum did 3 points better on those balanced
//! classes, but fell to 46 % against the mean's 72 % when two classes made up most of
//! the photos).

use std::collections::HashMap;

use tch::{Device, Kind, Tensor};

use crate::backbone::effnet_lite::{EffnetLite, IMAGENET_CLASSES};
use crate::ranking::{top_classes, ClassProb};
use crate::LearnError;

const TABLE: &str = include_str!("../../../../assets/imagenet-classes.tsv");

/// WordNet's suffix rules for nouns, in its order: plural ending → singular ending.
const PLURAL_RULES: [(&str, &str); 8] = [
    ("s", ""),
    ("ses", "s"),
    ("xes", "x"),
    ("zes", "z"),
    ("ches", "ch"),
    ("shes", "sh"),
    ("men", "man"),
    ("ies", "y"),
];

/// A WordNet synset of the table: a class (with its index in the head's output) or an
/// ancestor of classes.
#[derive(Debug, Clone)]
struct Synset {
    words: Vec<String>,
    parents: Vec<usize>,
    class: Option<usize>,
}

/// The ImageNet classes and the synsets above them, with a word index.
#[derive(Debug, Clone)]
pub struct ImagenetTable {
    synsets: Vec<Synset>,
    /// A word's key → its synsets in WordNet's sense order (most frequent first).
    senses: HashMap<String, Vec<usize>>,
    /// Irregular plural → base words (keys).
    plurals: HashMap<String, Vec<String>>,
}

/// What a session class name reads as in the table.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// The synset's first word.
    pub word: String,
    /// The head's classes at or below the synset, each with its distance in parent
    /// steps (0: the synset is the class).
    pub classes: Vec<(usize, usize)>,
}

/// A name as the table's words are matched (its key): lowercase, `'` and `.` dropped,
/// every run of spaces, `-` and `_` one `_`, none at either end.
pub fn normalise(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars().flat_map(char::to_lowercase) {
        match c {
            '\'' | '.' => {}
            c if c.is_whitespace() || c == '-' || c == '_' => {
                if !out.is_empty() && !out.ends_with('_') {
                    out.push('_');
                }
            }
            c => out.push(c),
        }
    }
    out.trim_end_matches('_').to_string()
}

/// A class name without a leading `NN_` key prefix (`12_great_dane`), when a name
/// follows it.
fn without_key_prefix(name: &str) -> &str {
    let digits = name.bytes().take_while(u8::is_ascii_digit).count();
    match name[digits..].strip_prefix('_') {
        Some(rest) if digits > 0 && !rest.is_empty() => rest,
        _ => name,
    }
}

impl ImagenetTable {
    /// The table built into glean.
    pub fn builtin() -> &'static ImagenetTable {
        static TABLE_ONCE: std::sync::OnceLock<ImagenetTable> = std::sync::OnceLock::new();
        #[allow(
            clippy::expect_used,
            reason = "the table is built into the binary, and a test parses it"
        )]
        TABLE_ONCE.get_or_init(|| {
            ImagenetTable::parse(TABLE).expect("assets/imagenet-classes.tsv is well formed")
        })
    }

    pub fn parse(text: &str) -> Result<ImagenetTable, String> {
        fn list(field: &str) -> Vec<&str> {
            field.split(',').filter(|w| !w.is_empty()).collect()
        }
        /// A synset's line: wnid, class index, words, parents' wnids.
        struct Row<'a> {
            wnid: &'a str,
            class: Option<usize>,
            words: Vec<&'a str>,
            parents: Vec<&'a str>,
        }
        let mut by_wnid: HashMap<&str, usize> = HashMap::new();
        let mut rows: Vec<Row> = Vec::new();
        let mut sense_lines: Vec<(String, Vec<&str>)> = Vec::new();
        let mut plurals: HashMap<String, Vec<String>> = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let fields: Vec<&str> = line.split('\t').collect();
            let bad = || format!("line {}: {line:?}", n + 1);
            match fields.as_slice() {
                ["sense", key, wnids] => sense_lines.push((key.to_string(), list(wnids))),
                ["plural", form, bases] => {
                    let bases = list(bases).iter().map(|b| b.to_string()).collect();
                    plurals.insert(form.to_string(), bases);
                }
                [kind, wnid, words, parents] => {
                    let class = match *kind {
                        "ancestor" => None,
                        index => Some(index.parse::<usize>().map_err(|_| bad())?),
                    };
                    by_wnid.insert(wnid, rows.len());
                    rows.push(Row {
                        wnid,
                        class,
                        words: list(words),
                        parents: list(parents),
                    });
                }
                _ => return Err(bad()),
            }
        }
        let synsets = rows
            .iter()
            .map(|row| {
                let parents = row
                    .parents
                    .iter()
                    .map(|p| {
                        by_wnid
                            .get(p)
                            .copied()
                            .ok_or(format!("{}: parent {p} is not in the table", row.wnid))
                    })
                    .collect::<Result<Vec<usize>, String>>()?;
                Ok(Synset {
                    words: row.words.iter().map(|w| w.to_string()).collect(),
                    parents,
                    class: row.class,
                })
            })
            .collect::<Result<Vec<Synset>, String>>()?;
        let classes = synsets.iter().filter(|s| s.class.is_some()).count();
        if classes != IMAGENET_CLASSES as usize {
            return Err(format!("{classes} classes, expected {IMAGENET_CLASSES}"));
        }
        let mut senses: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, s) in synsets.iter().enumerate() {
            for w in &s.words {
                let list = senses.entry(normalise(w)).or_default();
                if !list.contains(&i) {
                    list.push(i);
                }
            }
        }
        // Keys naming several synsets: WordNet's sense order, the most frequent first.
        for (key, wnids) in sense_lines {
            let ordered = wnids
                .iter()
                .map(|w| by_wnid.get(w).copied().ok_or(format!("sense {key}: {w}?")))
                .collect::<Result<Vec<usize>, String>>()?;
            senses.insert(key, ordered);
        }
        Ok(ImagenetTable {
            synsets,
            senses,
            plurals,
        })
    }

    /// The synset a class name means: the synsets its key names (else those of a
    /// singular of it), narrowed to those with a word spelled as the name (`Cardigan`
    /// the corgi, `cardigan` the sweater) when there are any; the first in WordNet's
    /// sense order.
    fn meaning(&self, name: &str) -> Option<usize> {
        let name = without_key_prefix(name.trim());
        let key = normalise(name);
        let candidates = self.senses.get(&key).cloned().or_else(|| {
            let irregular = self.plurals.get(&key).cloned().unwrap_or_default();
            let regular = PLURAL_RULES.iter().filter_map(|(plural, singular)| {
                key.strip_suffix(plural)
                    .map(|stem| format!("{stem}{singular}"))
            });
            irregular
                .into_iter()
                .chain(regular)
                .find_map(|base| self.senses.get(&base).cloned())
        })?;
        let spelled = |s: &usize| {
            self.synsets[*s]
                .words
                .iter()
                .any(|w| w.replace('_', " ") == name.replace('_', " "))
        };
        candidates
            .iter()
            .find(|s| spelled(s))
            .or(candidates.first())
            .copied()
    }

    /// What a session class named `name` reads as: its synset and the head's classes
    /// at or below it; None when the name means nothing in the table, or nothing with
    /// classes below it.
    pub fn reading(&self, name: &str) -> Option<Reading> {
        let synset = self.meaning(name)?;
        let classes: Vec<(usize, usize)> = self
            .synsets
            .iter()
            .enumerate()
            .filter_map(|(i, s)| Some((s.class?, self.distance(i, synset)?)))
            .collect();
        (!classes.is_empty()).then(|| Reading {
            word: self.synsets[synset]
                .words
                .first()
                .cloned()
                .unwrap_or_default(),
            classes,
        })
    }

    /// The head's classes a session class named `name` gathers, ascending.
    pub fn classes_for(&self, name: &str) -> Vec<usize> {
        let mut classes: Vec<usize> = self
            .reading(name)
            .map(|r| r.classes.into_iter().map(|(c, _)| c).collect())
            .unwrap_or_default();
        classes.sort_unstable();
        classes
    }

    /// The fewest parent steps from synset `from` up to `ancestor`, if it is above.
    fn distance(&self, from: usize, ancestor: usize) -> Option<usize> {
        let mut level = vec![from];
        let mut seen = vec![false; self.synsets.len()];
        let mut steps = 0;
        while !level.is_empty() {
            if level.contains(&ancestor) {
                return Some(steps);
            }
            let mut next = Vec::new();
            for s in level {
                if !std::mem::replace(&mut seen[s], true) {
                    next.extend(&self.synsets[s].parents);
                }
            }
            level = next;
            steps += 1;
        }
        None
    }

    /// The first word of the class with head index `class`, for messages.
    pub fn class_name(&self, class: usize) -> Option<&str> {
        self.synsets
            .iter()
            .find(|s| s.class == Some(class))
            .and_then(|s| s.words.first())
            .map(String::as_str)
    }
}

/// The session's classes as the backbone's ImageNet classifier sees them.
pub struct ZeroShot {
    /// `[1000, classes]`: `1 / n` where the session class gathers the ImageNet class
    /// among its `n`, so a product with the probabilities is each class's mean.
    gather: Tensor,
    /// `[1000, 1]`: 1 for each ImageNet class some session class gathers.
    gathered: Tensor,
    /// Session classes no ImageNet class matched: never suggested by the head alone;
    /// the prior (`ZeroShotPrior`) gives them what the matched classes leave.
    pub unmatched: Vec<String>,
    /// `[classes]`: 1 for each unmatched class.
    unmatched_mask: Vec<f32>,
}

/// Fewest session classes that must match for suggestions to be worth showing.
const MIN_MATCHED: usize = 2;

impl ZeroShot {
    /// The mapping for a session with classes `names`; None when fewer than two of
    /// them read as ImageNet classes. An ImageNet class gathered by several session
    /// classes goes to the nearest (`great_dane` keeps the Great Dane from `dog`).
    pub fn for_classes(names: &[String], device: Device) -> Result<Option<ZeroShot>, LearnError> {
        let table = ImagenetTable::builtin();
        let n = IMAGENET_CLASSES as usize;
        let readings: Vec<Option<Reading>> = names.iter().map(|name| table.reading(name)).collect();
        let mut nearest = vec![usize::MAX; n];
        for reading in readings.iter().flatten() {
            for &(class, distance) in &reading.classes {
                nearest[class] = nearest[class].min(distance);
            }
        }
        let mut gather = vec![0f32; n * names.len()];
        let mut gathered = vec![0f32; n];
        let mut unmatched = Vec::new();
        let mut unmatched_mask = vec![0f32; names.len()];
        let mut matched = 0;
        for (c, (name, reading)) in names.iter().zip(&readings).enumerate() {
            let kept: Vec<usize> = reading
                .iter()
                .flat_map(|r| &r.classes)
                .filter(|&&(class, distance)| distance == nearest[class])
                .map(|&(class, _)| class)
                .collect();
            match reading {
                Some(r) if !kept.is_empty() => {
                    tracing::info!(
                        "class {name} reads as ImageNet's {} ({} of its classes)",
                        r.word,
                        kept.len()
                    );
                    matched += 1;
                    for &k in &kept {
                        gather[k * names.len() + c] = 1.0 / kept.len() as f32;
                        gathered[k] = 1.0;
                    }
                }
                _ => {
                    unmatched.push(name.clone());
                    unmatched_mask[c] = 1.0;
                }
            }
        }
        if matched < MIN_MATCHED {
            tracing::info!(
                "no suggestions from the backbone's ImageNet classes: {matched} of {} classes match",
                names.len()
            );
            return Ok(None);
        }
        if !unmatched.is_empty() {
            tracing::info!(
                "no ImageNet class for {}: never suggested, label them by hand",
                unmatched.join(", ")
            );
        }
        let gather = Tensor::f_from_slice(&gather)?
            .f_view([n as i64, names.len() as i64])?
            .f_to_device(device)?;
        let gathered = Tensor::f_from_slice(&gathered)?
            .f_view([n as i64, 1])?
            .f_to_device(device)?;
        Ok(Some(ZeroShot {
            gather,
            gathered,
            unmatched,
            unmatched_mask,
        }))
    }

    /// The head's view of `features` before it becomes probabilities: each session
    /// class's mean ImageNet probability (`[n, classes]`, 0 for the unmatched), and the
    /// ImageNet probability no session class gathers (`[n, 1]`).
    fn scores(&self, net: &EffnetLite, features: &Tensor) -> Result<(Tensor, Tensor), LearnError> {
        let _guard = tch::no_grad_guard();
        let imagenet = net
            .imagenet_logits(&features.f_to_device(net.device())?)?
            .f_softmax(-1, Kind::Float)?;
        let scores = imagenet.f_matmul(&self.gather.f_to_device(net.device())?)?;
        let residual = imagenet
            .f_matmul(&self.gathered.f_to_device(net.device())?)?
            .f_neg()?
            .f_add_scalar(1.0)?
            .f_clamp_min(0.0)?;
        Ok((scores, residual))
    }

    /// Session-class probabilities `[n, classes]` of pooled backbone `features`
    /// (`[n, 1280]`): each class's mean ImageNet probability, as a share of all.
    pub fn probs(&self, net: &EffnetLite, features: &Tensor) -> Result<Tensor, LearnError> {
        let (scores, _) = self.scores(net, features)?;
        shares(&scores)
    }

    /// The top `k` suggestions for each of `rows` (aligned with `features`' rows) that is
    /// a pool row (below `pool_len`).
    pub fn suggest(
        &self,
        net: &EffnetLite,
        features: &Tensor,
        rows: &[usize],
        pool_len: usize,
        k: usize,
    ) -> Result<Vec<(usize, Vec<ClassProb>)>, LearnError> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let probs = self.probs(net, features)?;
        let classes = probs.size()[1] as usize;
        let flat = Vec::<f32>::try_from(probs.f_to_device(Device::Cpu)?.f_view([-1])?)?;
        Ok(rows
            .iter()
            .zip(flat.chunks(classes))
            .filter(|(&row, _)| row < pool_len)
            .map(|(&row, p)| (row, top_classes(p, k).to_vec()))
            .collect())
    }
}

/// The head's class probabilities of every pool and test item, as the prior that the
/// trained predictors refine (`refine_with_prior`), so that every screen and file reads
/// one predictor from the first label on.
pub struct ZeroShotPrior {
    /// `[pool, classes]`: the balancing in use.
    pub pool: Tensor,
    /// `[test, classes]`.
    pub test: Tensor,
    /// Every balancing of `BALANCING` (and, in a learner, each spread over its graph),
    /// the one in use among them: the labels choose (`Learner::fit_prior_blend`).
    pub balancings: Vec<PriorVariant>,
}

/// One version of the prior.
pub struct PriorVariant {
    /// The balancing (`BALANCING`).
    pub balance: f64,
    /// Spread over the learner's graph (`GraphLearner::spread_prior`).
    pub spread: bool,
    pub pool: Tensor,
    pub test: Tensor,
}

impl Clone for PriorVariant {
    fn clone(&self) -> Self {
        PriorVariant {
            balance: self.balance,
            spread: self.spread,
            pool: self.pool.shallow_clone(),
            test: self.test.shallow_clone(),
        }
    }
}

/// How far the head's scores are moved toward equal class sizes over the pool
/// (`class_weights`): not at all, half way (in the weights' logarithm), fully. The
/// head over-guesses some classes (CIFAR-10 without labels: `horse` took 29 % of the
/// validation photos; balanced fully, 58.3 % right against 48.5 %), but a folder that
/// is mostly two classes is not balanced (CIFAR-10's cats and dogs at 1,000 photos
/// each, the others at 60: 43.4 % fully balanced, 52.0 % half way, 54.4 % not; each
/// spread over the graph). Before the first labels half way, the best of the worse
/// of the two; once there are labels, they choose.
pub const BALANCING: [f64; 3] = [0.0, 0.5, 1.0];
/// The balancing used before the labels choose: `BALANCING[1]`.
pub const BALANCING_BEFORE_LABELS: usize = 1;

impl Clone for ZeroShotPrior {
    /// Shares the tensors (each learner of a simulation reads the same prior).
    fn clone(&self) -> Self {
        ZeroShotPrior {
            pool: self.pool.shallow_clone(),
            test: self.test.shallow_clone(),
            balancings: self.balancings.clone(),
        }
    }
}

impl ZeroShotPrior {
    /// The prior of `features` (raw pooled backbone features, as `ZeroShot::probs`
    /// reads them) on `device`. A class the head cannot name (CIFAR-10's `deer`) gets
    /// the ImageNet probability no session class gathers, at one scale for the whole
    /// pool, set so that the unmatched classes together take their classes' share of
    /// the pool (`residual_scale`): as common as the average class until labels say
    /// otherwise. Without that share the head would put those photos in the named
    /// classes, and no label could take them out where the prior is trusted.
    pub fn of(
        zero_shot: &ZeroShot,
        net: &EffnetLite,
        features: &crate::backbone::features::PoolFeatures,
        device: Device,
    ) -> Result<ZeroShotPrior, LearnError> {
        let classes = zero_shot.gather.size()[1];
        let scores = |f: &Tensor| -> Result<(Tensor, Tensor), LearnError> {
            if f.size()[0] == 0 {
                let none = Tensor::f_zeros([0, classes], (Kind::Float, device))?;
                return Ok((none.shallow_clone(), none.f_narrow(1, 0, 1)?));
            }
            let (s, r) = zero_shot.scores(net, f)?;
            Ok((s.f_to_device(device)?, r.f_to_device(device)?))
        };
        let pool = scores(&features.pool)?;
        let test = scores(&features.test)?;
        let unmatched = Tensor::f_from_slice(&zero_shot.unmatched_mask)?
            .f_view([1, classes])?
            .f_to_device(device)?;
        let scale = residual_scale(&pool.0, &pool.1, &unmatched)?;
        let scored = |(s, r): &(Tensor, Tensor)| -> Result<Tensor, LearnError> {
            let leftover = r.f_mul(&unmatched)?.f_mul_scalar(scale)?;
            Ok(s.f_add(&leftover)?)
        };
        let (pool, test) = (scored(&pool)?, scored(&test)?);
        let balancings = BALANCING
            .iter()
            .map(|&balance| -> Result<PriorVariant, LearnError> {
                let weights = class_weights(&pool, balance)?;
                Ok(PriorVariant {
                    balance,
                    spread: false,
                    pool: shares(&pool.f_mul(&weights)?)?,
                    test: shares(&test.f_mul(&weights)?)?,
                })
            })
            .collect::<Result<Vec<_>, LearnError>>()?;
        let PriorVariant { pool, test, .. } = &balancings[BALANCING_BEFORE_LABELS];
        Ok(ZeroShotPrior {
            pool: pool.shallow_clone(),
            test: test.shallow_clone(),
            balancings,
        })
    }
}

/// Per-class weights `[1, classes]` that move the pool's mean class probabilities
/// (each row of `scores` taken as shares) toward equal class sizes, by the fixed point
/// of unbalanced Sinkhorn scaling: `v ← (v · (1/classes) / share(v))^rho`; `rho` 1
/// balances fully, 0 leaves the head as it is.
fn class_weights(scores: &Tensor, rho: f64) -> Result<Tensor, LearnError> {
    let classes = scores.size()[1];
    let mut v = Tensor::f_ones([1, classes], (Kind::Float, scores.device()))?;
    if rho == 0.0 || scores.size()[0] == 0 {
        return Ok(v);
    }
    let target = 1.0 / classes as f64;
    for _ in 0..200 {
        let share = shares(&scores.f_mul(&v)?)?
            .f_mean_dim(0, true, Kind::Float)?
            .f_clamp_min(1e-12)?;
        v = v
            .f_mul_scalar(target)?
            .f_div(&share)?
            .f_pow_tensor_scalar(rho)?;
        // Scale-free: keep the weights near 1.
        let mean = v.f_mean(Kind::Float)?;
        v = v.f_div(&mean)?;
    }
    Ok(v)
}

/// Each row of `scores` as shares of its sum.
fn shares(scores: &Tensor) -> Result<Tensor, LearnError> {
    let total = scores
        .f_sum_dim_intlist(1, true, Kind::Float)?
        .f_clamp_min(1e-12)?;
    Ok(scores.f_div(&total)?)
}

/// The scale `λ` at which the unmatched classes (`unmatched`, `[1, classes]`), each
/// scoring `λ · residual`, take on average `u / classes` of the pool's probability,
/// for `u` unmatched classes: found by bisection on `log λ` (the share grows with `λ`).
/// 0 when every class matched or the pool is empty.
fn residual_scale(
    scores: &Tensor,
    residual: &Tensor,
    unmatched: &Tensor,
) -> Result<f64, LearnError> {
    let u = unmatched.f_sum(Kind::Float)?.double_value(&[]);
    let classes = unmatched.size()[1] as f64;
    if u == 0.0 || scores.size()[0] == 0 {
        return Ok(0.0);
    }
    let target = u / classes;
    let share = |log_scale: f64| -> Result<f64, LearnError> {
        let leftover = residual.f_mul(unmatched)?.f_mul_scalar(log_scale.exp())?;
        let p = shares(&scores.f_add(&leftover)?)?;
        Ok(p.f_mul(unmatched)?
            .f_sum_dim_intlist(1, false, Kind::Float)?
            .f_mean(Kind::Float)?
            .double_value(&[]))
    };
    let (mut low, mut high) = (-30f64, 30f64);
    for _ in 0..60 {
        let mid = 0.5 * (low + high);
        if share(mid)? < target {
            low = mid;
        } else {
            high = mid;
        }
    }
    Ok((0.5 * (low + high)).exp())
}

/// A trained predictor's probabilities `model` (`[n, classes]`) refined into the
/// head's `prior` (same shape): `known` (`[classes]`, 1 for each class with a label) are
/// the classes the predictor can tell apart. The prior's mass on the known classes is
/// shared among them as the predictor shares its own; the unknown classes keep the
/// prior's probabilities, which no label has informed. With every class labeled this is
/// the predictor alone; with none, the prior alone. (With 12 labels over 118 dog breeds
/// the trained predictors put every photo in one of the 12 labeled breeds, at up to
/// 100 %, and 1 of 106 was right.)
pub fn refine_with_prior(
    model: &Tensor,
    prior: &Tensor,
    known: &Tensor,
) -> Result<Tensor, LearnError> {
    let _guard = tch::no_grad_guard();
    let known = known.f_to_kind(Kind::Float)?.f_view([1, -1])?;
    let within = model.f_mul(&known)?;
    let within = within.f_div(
        &within
            .f_sum_dim_intlist(1, true, Kind::Float)?
            .f_clamp_min(1e-12)?,
    )?;
    let mass = prior
        .f_mul(&known)?
        .f_sum_dim_intlist(1, true, Kind::Float)?;
    let unknown = known.f_neg()?.f_add_scalar(1.0)?;
    Ok(within.f_mul(&mass)?.f_add(&prior.f_mul(&unknown)?)?)
}

/// [`refine_with_prior`] of one row on the host: `known[c]` for each class the
/// predictor was given a label of.
pub fn refine_with_prior_rows(model: &[f32], prior: &[f32], known: &[bool]) -> Vec<f32> {
    let within: f32 = model
        .iter()
        .zip(known)
        .filter(|(_, &k)| k)
        .map(|(m, _)| m)
        .sum();
    let mass: f32 = prior
        .iter()
        .zip(known)
        .filter(|(_, &k)| k)
        .map(|(p, _)| p)
        .sum();
    model
        .iter()
        .zip(prior)
        .zip(known)
        .map(|((&m, &p), &k)| if k { m / within.max(1e-12) * mass } else { p })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> &'static ImagenetTable {
        ImagenetTable::builtin()
    }

    #[test]
    fn names_are_normalised_like_wordnet_lemmas() {
        assert_eq!(normalise(" Great Dane "), "great_dane");
        assert_eq!(
            normalise("German_short-haired_pointer"),
            "german_short_haired_pointer"
        );
        assert_eq!(normalise("Shih-Tzu"), "shih_tzu");
        assert_eq!(normalise("a  b__c_"), "a_b_c");
        assert_eq!(normalise("jack-o'-lantern"), "jack_o_lantern");
        assert_eq!(normalise("R.V."), "rv");
        assert_eq!(without_key_prefix("12_great_dane"), "great_dane");
        assert_eq!(without_key_prefix("12_"), "12_");
        assert_eq!(without_key_prefix("great_dane"), "great_dane");
    }

    #[test]
    fn a_breed_names_its_class_and_a_family_gathers_its_members() {
        // ImageNet's dog breeds are classes 151..=268.
        assert_eq!(table().classes_for("great_dane"), vec![246]);
        assert_eq!(table().classes_for("Great Dane"), vec![246]);
        assert_eq!(table().classes_for("12_great_dane"), vec![246]);
        assert_eq!(table().classes_for("Chihuahua"), vec![151]);
        let dogs = table().classes_for("dog");
        assert_eq!(dogs, (151..=268).collect::<Vec<_>>());
        assert_eq!(table().classes_for("dogs"), dogs, "plural folder names");
        assert!(table().classes_for("no such thing").is_empty());
    }

    #[test]
    fn the_spelling_picks_between_senses_and_plurals_find_their_singular() {
        let t = table();
        // Cardigan the corgi is class 264; cardigan the sweater 474.
        assert_eq!(t.classes_for("Cardigan"), vec![264]);
        assert_eq!(t.classes_for("cardigan"), vec![474]);
        assert_eq!(t.classes_for("boxes"), t.classes_for("box"));
        assert_eq!(t.classes_for("geese"), t.classes_for("goose"));
        assert!(!t.classes_for("wolves").is_empty());
        // CIFAR-10's classes: deer has no ImageNet class; the others gather theirs.
        assert!(t.classes_for("deer").is_empty());
        assert_eq!(t.classes_for("frog").len(), 3);
        assert_eq!(t.classes_for("automobile").len(), 10);
        // Minivan is both a car and a truck (a van); a session with both resolves it.
        assert_eq!(t.classes_for("truck").len(), 8);
        assert_eq!(t.classes_for("cat").len(), 7);
        assert_eq!(t.classes_for("bird").len(), 59);
    }

    #[test]
    fn a_nearer_class_keeps_what_it_shares_with_a_family() {
        let names: Vec<String> = ["dog", "great_dane"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let zs = ZeroShot::for_classes(&names, Device::Cpu).unwrap().unwrap();
        let gather = Vec::<f32>::try_from(zs.gather.view([-1])).unwrap();
        let (dog, dane) = (246 * 2, 246 * 2 + 1);
        assert_eq!(gather[dane], 1.0);
        assert_eq!(gather[dog], 0.0);
        // Every other breed goes to dog, each an equal part of its mean.
        assert!(
            (gather[151 * 2] - 1.0 / 117.0).abs() < 1e-6,
            "{}",
            gather[151 * 2]
        );
        let unmatched = ["dog".to_string(), "zzz".to_string()];
        assert!(ZeroShot::for_classes(&unmatched, Device::Cpu)
            .unwrap()
            .is_none());
    }

    #[test]
    fn balancing_moves_the_pool_toward_equal_classes_and_unmatched_take_their_share() {
        // Four items; class 0 takes three of them.
        let scores = Tensor::from_slice(&[
            0.8f32, 0.2, 0.0, 0.7, 0.3, 0.0, 0.6, 0.4, 0.0, 0.3, 0.7, 0.0,
        ])
        .view([4, 3]);
        let residual = Tensor::from_slice(&[0.1f32, 0.2, 0.9, 0.8]).view([4, 1]);
        let unmatched = Tensor::from_slice(&[0.0f32, 0.0, 1.0]).view([1, 3]);
        let scale = residual_scale(&scores, &residual, &unmatched).unwrap();
        let spread = &residual * &unmatched * scale;
        let scored = &scores + &spread;
        let share = |p: &Tensor| Vec::<f32>::try_from(p.mean_dim(0, false, Kind::Float)).unwrap();
        // The unmatched class takes a third of the pool's probability, most of it
        // from the items with the most ImageNet mass left over.
        let probs = shares(&scored).unwrap();
        assert!(
            (share(&probs)[2] - 1.0 / 3.0).abs() < 1e-4,
            "{:?}",
            share(&probs)
        );
        let third: Vec<f32> = Vec::try_from(probs.select(1, 2)).unwrap();
        assert!(third[2] > third[0] && third[3] > third[1], "{third:?}");
        // Fully balanced: every class a third; not at all: as it was; half way between.
        let balanced = shares(&(&scored * class_weights(&scored, 1.0).unwrap())).unwrap();
        for s in share(&balanced) {
            assert!((s - 1.0 / 3.0).abs() < 1e-3, "{:?}", share(&balanced));
        }
        let kept = shares(&(&scored * class_weights(&scored, 0.0).unwrap())).unwrap();
        assert!(kept.allclose(&probs, 1e-6, 1e-6, false));
        let half = share(&shares(&(&scored * class_weights(&scored, 0.5).unwrap())).unwrap())[0];
        assert!(half < share(&probs)[0] && half > 1.0 / 3.0, "{half}");
        // Every class matched: no scale.
        let none = Tensor::zeros([1, 3], (Kind::Float, Device::Cpu));
        assert_eq!(residual_scale(&scores, &residual, &none).unwrap(), 0.0);
    }

    #[test]
    fn the_table_has_every_class_once() {
        let t = table();
        let mut classes: Vec<usize> = t.synsets.iter().filter_map(|s| s.class).collect();
        classes.sort_unstable();
        assert_eq!(classes, (0..1000).collect::<Vec<_>>());
        assert_eq!(t.class_name(151), Some("Chihuahua"));
    }

    #[test]
    fn the_prior_keeps_unknown_classes_and_the_model_shares_the_rest() {
        // Three classes; the model knows classes 0 and 1 (it gives class 2 nothing).
        let model = Tensor::from_slice(&[0.9f32, 0.1, 0.0, 0.2, 0.8, 0.0]).view([2, 3]);
        let prior = Tensor::from_slice(&[0.2f32, 0.2, 0.6, 0.5, 0.1, 0.4]).view([2, 3]);
        let known = Tensor::from_slice(&[1.0f32, 1.0, 0.0]);
        let p: Vec<f32> = Vec::try_from(
            refine_with_prior(&model, &prior, &known)
                .unwrap()
                .view([-1]),
        )
        .unwrap();
        let want = [0.36, 0.04, 0.6, 0.12, 0.48, 0.4];
        for (got, want) in p.iter().zip(want) {
            assert!((got - want).abs() < 1e-6, "{p:?}");
        }
        // Every class known: the model alone; none: the prior alone.
        let all = Tensor::from_slice(&[1.0f32, 1.0, 1.0]);
        let p = refine_with_prior(&model, &prior, &all).unwrap();
        assert!(p.allclose(&model, 1e-6, 1e-6, false));
        let none = Tensor::from_slice(&[0.0f32, 0.0, 0.0]);
        let p = refine_with_prior(&model, &prior, &none).unwrap();
        assert!(p.allclose(&prior, 1e-6, 1e-6, false));
        // The host's one row agrees.
        let row = refine_with_prior_rows(&[0.9, 0.1, 0.0], &[0.2, 0.2, 0.6], &[true, true, false]);
        for (got, want) in row.iter().zip(&want[..3]) {
            assert!((got - want).abs() < 1e-6, "{row:?}");
        }
    }
}
