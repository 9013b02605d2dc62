//! Where glean keeps its files: the cache (decoded pools, downloaded data), the data
//! folder (sessions, logs) and the config folder (the keymap). `GLEAN_CACHE_DIR`,
//! `GLEAN_DATA_DIR`, `GLEAN_SESSION_DIR` and `GLEAN_CONFIG_DIR` override the platform
//! defaults, which keeps tests and CI out of the user's home.

use std::path::PathBuf;

fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("", "", "glean")
}

fn from_env(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// Cache folder: decoded pools, features, downloaded data sets.
pub fn cache_dir() -> PathBuf {
    from_env("GLEAN_CACHE_DIR")
        .or_else(|| project_dirs().map(|d| d.cache_dir().to_path_buf()))
        .unwrap_or_else(|| std::env::temp_dir().join("glean-cache"))
}

/// Data folder: sessions and logs.
pub fn data_dir() -> PathBuf {
    from_env("GLEAN_DATA_DIR")
        .or_else(|| project_dirs().map(|d| d.data_dir().to_path_buf()))
        .unwrap_or_else(|| std::env::temp_dir().join("glean-data"))
}

/// The labeler's log: everything a background thread has to say, off the screen.
pub fn log_file() -> PathBuf {
    data_dir().join("logs").join("glean.log")
}

/// Config folder: the labeler's `keymap.ron`.
pub fn config_dir() -> PathBuf {
    from_env("GLEAN_CONFIG_DIR")
        .or_else(|| project_dirs().map(|d| d.config_dir().to_path_buf()))
        .unwrap_or_else(|| std::env::temp_dir().join("glean-config"))
}

/// Default session folder, unless `--session-dir` says otherwise.
pub fn session_dir() -> PathBuf {
    from_env("GLEAN_SESSION_DIR").unwrap_or_else(|| data_dir().join("sessions"))
}

/// Where installed models (the backbones' weights) go: `GLEAN_MODELS_DIR`, else the
/// data folder's `models`. Not the cache: moving the cache (`GLEAN_CACHE_DIR`, to a
/// bigger disk say) must not lose them. `scripts/setup-effnet.sh` writes here.
pub fn models_dir() -> PathBuf {
    from_env("GLEAN_MODELS_DIR").unwrap_or_else(|| data_dir().join("models"))
}

/// Where models are looked for, first found wins: only `GLEAN_MODELS_DIR` when it is
/// set; else the data folder's `models`, the platform's default one (when
/// `GLEAN_DATA_DIR` points elsewhere), and the cache's `models`, where glean installed
/// them before, under `GLEAN_CACHE_DIR` and under the platform's default cache.
pub fn model_dirs() -> Vec<PathBuf> {
    if let Some(dir) = from_env("GLEAN_MODELS_DIR") {
        return vec![dir];
    }
    let platform = project_dirs();
    let candidates = [
        Some(data_dir().join("models")),
        platform.as_ref().map(|d| d.data_dir().join("models")),
        Some(cache_dir().join("models")),
        platform.as_ref().map(|d| d.cache_dir().join("models")),
    ];
    let mut dirs: Vec<PathBuf> = Vec::new();
    for dir in candidates.into_iter().flatten() {
        if !dirs.contains(&dir) {
            dirs.push(dir);
        }
    }
    dirs
}

/// The first of `model_dirs` that holds `file`, else where it would be installed.
pub fn find_model(file: &str) -> PathBuf {
    model_dirs()
        .into_iter()
        .map(|dir| dir.join(file))
        .find(|path| path.is_file())
        .unwrap_or_else(|| models_dir().join(file))
}
