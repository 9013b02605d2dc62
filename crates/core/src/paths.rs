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
