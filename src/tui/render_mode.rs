//! Choosing how images reach the terminal: a graphics protocol (sixel, kitty, iTerm2,
//! through ratatui-image) where it works, block art otherwise. `--render` / `GLEAN_RENDER`
//! force a choice. Auto detection reads the environment first and only asks the terminal
//! (with a short timeout) when the environment says graphics may work and nothing
//! (tmux, screen, a dumb terminal) says the answer would be lost or wrong.

use std::time::Duration;

use ratatui_image::picker::cap_parser::QueryStdioOptions;
use ratatui_image::picker::{Picker, ProtocolType};

use super::blockart::CellShape;

/// What the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
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
    pub term_program: Option<String>,
    pub in_tmux: bool,
    pub kitty: bool,
    pub konsole: bool,
}

impl TermEnv {
    pub fn from_process() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        TermEnv {
            term: var("TERM"),
            term_program: var("TERM_PROGRAM"),
            in_tmux: var("TMUX").is_some() || var("STY").is_some(),
            kitty: var("KITTY_WINDOW_ID").is_some(),
            konsole: var("KONSOLE_VERSION").is_some(),
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

/// Decide from the environment alone whether a query is worth it.
pub fn plan_auto(env: &TermEnv) -> AutoPlan {
    let term = env.term.as_deref().unwrap_or("");
    // The Linux console and dumb terminals lack the sextant glyphs.
    if term.is_empty() || term == "dumb" || term == "linux" || term.starts_with("vt") {
        return AutoPlan::Blocks(CellShape::Half);
    }
    // Multiplexers swallow or delay the answers; a stray reply would read as keys.
    if env.in_tmux || term.starts_with("tmux") || term.starts_with("screen") {
        return AutoPlan::Blocks(CellShape::Sextant);
    }
    let program = env.term_program.as_deref().unwrap_or("");
    let graphics_hint = env.kitty
        || env.konsole
        || term.contains("kitty")
        || term.contains("foot")
        || term.contains("ghostty")
        || term.contains("wezterm")
        || term.contains("mlterm")
        || term.contains("contour")
        || matches!(
            program,
            "iTerm.app" | "WezTerm" | "ghostty" | "mintty" | "vscode"
        );
    if graphics_hint {
        AutoPlan::Query
    } else {
        AutoPlan::Blocks(CellShape::Sextant)
    }
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
                _ => Renderer::Blocks(CellShape::Sextant),
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
    fn never_queries_inside_multiplexers_or_plain_terminals() {
        assert_eq!(
            plan_auto(&TermEnv {
                in_tmux: true,
                kitty: true,
                ..env("xterm-kitty")
            }),
            AutoPlan::Blocks(CellShape::Sextant)
        );
        assert_eq!(
            plan_auto(&env("tmux-256color")),
            AutoPlan::Blocks(CellShape::Sextant)
        );
        assert_eq!(
            plan_auto(&env("screen")),
            AutoPlan::Blocks(CellShape::Sextant)
        );
        assert_eq!(
            plan_auto(&env("xterm-256color")),
            AutoPlan::Blocks(CellShape::Sextant)
        );
        assert_eq!(plan_auto(&env("linux")), AutoPlan::Blocks(CellShape::Half));
        assert_eq!(
            plan_auto(&TermEnv::default()),
            AutoPlan::Blocks(CellShape::Half)
        );
    }

    #[test]
    fn queries_when_the_terminal_says_it_may_draw_graphics() {
        assert_eq!(plan_auto(&env("xterm-kitty")), AutoPlan::Query);
        assert_eq!(plan_auto(&env("foot")), AutoPlan::Query);
        let iterm = TermEnv {
            term_program: Some("iTerm.app".into()),
            ..env("xterm-256color")
        };
        assert_eq!(plan_auto(&iterm), AutoPlan::Query);
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
