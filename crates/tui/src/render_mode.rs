//! Choosing how images reach the terminal: a graphics protocol (sixel, kitty, iTerm2,
//! through ratatui-image) where the terminal says it draws one, half blocks otherwise
//! (every font has them; sextants, which xterm's fonts lack, only when asked for with
//! `--render blocks`). `--render` / `GLEAN_RENDER` force a choice. Auto detection asks
//! the terminal (with a short timeout) unless the environment says the answer would be
//! lost or wrong (tmux, screen, a dumb terminal or the Linux console).

use std::time::Duration;

use ratatui_image::picker::cap_parser::QueryStdioOptions;
use ratatui_image::picker::{Picker, ProtocolType};

use super::blockart::CellShape;

/// What the user asked for.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    strum::EnumString,
    strum::Display,
    strum::EnumIter,
    strum::EnumMessage,
)]
#[strum(serialize_all = "lowercase")]
pub enum RenderMode {
    #[default]
    Auto,
    /// Sextant block art (2×3 sub-pixels per cell).
    Blocks,
    /// Half-block art (1×2 sub-pixels per cell), for fonts without sextants.
    Halfblocks,
    Sixel,
    Kitty,
    Iterm2,
}

/// What will draw the images.
#[derive(Debug, Clone)]
pub enum Renderer {
    Blocks(CellShape),
    Protocol(Box<Picker>),
}

impl Renderer {
    pub fn describe(&self) -> String {
        match self {
            Renderer::Blocks(CellShape::Half) => "halfblocks".into(),
            Renderer::Blocks(CellShape::Quadrant) => "quadrants".into(),
            Renderer::Blocks(CellShape::Sextant) => "blocks".into(),
            Renderer::Protocol(picker) => format!("{:?}", picker.protocol_type()).to_lowercase(),
        }
    }
}

/// The environment variables detection looks at, so the choice can be tested.
#[derive(Debug, Clone, Default)]
pub struct TermEnv {
    pub term: Option<String>,
    /// Inside tmux or screen.
    pub in_tmux: bool,
}

impl TermEnv {
    pub fn from_process() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        TermEnv {
            term: var("TERM"),
            in_tmux: var("TMUX").is_some() || var("STY").is_some(),
        }
    }
}

/// What auto detection decided before any terminal query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoPlan {
    /// Block art without asking: the query cannot work or is not worth its wait.
    Blocks(CellShape),
    /// Ask the terminal (short timeout); blocks if it does not answer with graphics.
    Query,
}

/// Decide from the environment alone whether a query is worth it. Any terminal that
/// may answer is asked (xterm draws sixel when started as a VT340, and says so only
/// when asked); the answer decides.
pub fn plan_auto(env: &TermEnv) -> AutoPlan {
    let term = env.term.as_deref().unwrap_or("");
    // Dumb terminals and the Linux console answer nothing useful.
    if term.is_empty() || term == "dumb" || term == "linux" {
        return AutoPlan::Blocks(CellShape::Half);
    }
    // Multiplexers swallow or delay the answers; a stray reply would read as keys.
    if env.in_tmux || term.starts_with("tmux") || term.starts_with("screen") {
        return AutoPlan::Blocks(CellShape::Half);
    }
    AutoPlan::Query
}

/// How long a capability query may wait for the terminal's answer.
pub const QUERY_TIMEOUT: Duration = Duration::from_millis(250);

/// Pick the renderer. Must run after the terminal entered raw mode and the alternate
/// screen, and before the input thread starts reading keys.
pub fn choose(mode: RenderMode, env: &TermEnv) -> Renderer {
    let forced = |protocol: ProtocolType| {
        // Protocols need the cell size in pixels: ask, but take the protocol regardless.
        let mut picker = query().unwrap_or_else(Picker::halfblocks);
        picker.set_protocol_type(protocol);
        Renderer::Protocol(Box::new(picker))
    };
    match mode {
        RenderMode::Blocks => Renderer::Blocks(CellShape::Sextant),
        RenderMode::Halfblocks => Renderer::Blocks(CellShape::Half),
        RenderMode::Sixel => forced(ProtocolType::Sixel),
        RenderMode::Kitty => forced(ProtocolType::Kitty),
        RenderMode::Iterm2 => forced(ProtocolType::Iterm2),
        RenderMode::Auto => match plan_auto(env) {
            AutoPlan::Blocks(shape) => Renderer::Blocks(shape),
            AutoPlan::Query => match query() {
                Some(picker) if picker.protocol_type() != ProtocolType::Halfblocks => {
                    Renderer::Protocol(Box::new(picker))
                }
                _ => Renderer::Blocks(CellShape::Half),
            },
        },
    }
}

fn query() -> Option<Picker> {
    let options = QueryStdioOptions {
        timeout: QUERY_TIMEOUT,
        ..QueryStdioOptions::default()
    };
    match Picker::from_query_stdio_with_options(options) {
        Ok(picker) => Some(picker),
        Err(error) => {
            tracing::warn!("terminal graphics query failed: {error}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(term: &str) -> TermEnv {
        TermEnv {
            term: Some(term.into()),
            ..TermEnv::default()
        }
    }

    #[test]
    fn never_queries_inside_multiplexers_or_dumb_terminals_and_draws_half_blocks() {
        assert_eq!(
            plan_auto(&TermEnv {
                in_tmux: true,
                ..env("xterm-kitty")
            }),
            AutoPlan::Blocks(CellShape::Half)
        );
        for term in ["tmux-256color", "screen", "linux", "dumb"] {
            assert_eq!(
                plan_auto(&env(term)),
                AutoPlan::Blocks(CellShape::Half),
                "{term}"
            );
        }
        assert_eq!(
            plan_auto(&TermEnv::default()),
            AutoPlan::Blocks(CellShape::Half)
        );
    }

    #[test]
    fn asks_every_other_terminal_xterm_included() {
        for term in [
            "xterm-kitty",
            "foot",
            "xterm-256color",
            "xterm",
            "mlterm",
            "vt340",
        ] {
            assert_eq!(plan_auto(&env(term)), AutoPlan::Query, "{term}");
        }
    }

    #[test]
    fn forced_block_modes_never_query() {
        let blocks = choose(RenderMode::Blocks, &env("xterm-kitty"));
        assert!(matches!(blocks, Renderer::Blocks(CellShape::Sextant)));
        assert_eq!(
            choose(RenderMode::Halfblocks, &env("xterm")).describe(),
            "halfblocks"
        );
    }
}
