//! At start, the personas whose style profile an older analyzer wrote are analysed again on a
//! background thread. The sidebar shows how far it got through `app_status` (polled, like the distil
//! status); nothing is lost if the app closes meanwhile: the rest are still behind at the next start.

use kotodama::UpgradeProgress;
use tauri::{AppHandle, Manager};

use crate::AppState;

/// Lists the stale profiles now, so that the first `app_status` already counts them, then updates
/// them in the background.
pub fn start(app: &AppHandle) {
    let state = app.state::<AppState>();
    let Ok(core) = &state.core else { return };
    let stale = match core.lock().map(|k| k.stale_profiles()) {
        Ok(Ok(stale)) if !stale.is_empty() => stale,
        Ok(Ok(_)) | Err(_) => return,
        Ok(Err(e)) => {
            eprintln!("kotodama: could not list the style profiles to update: {e}");
            return;
        }
    };
    set(
        &state,
        UpgradeProgress {
            done: 0,
            total: stale.len(),
        },
    );
    let app = app.clone();
    std::thread::spawn(move || {
        let state = app.state::<AppState>();
        let Ok(core) = &state.core else { return };
        let report = kotodama::upgrade_profiles(core, &stale, &mut |p| set(&state, p));
        for (s, why) in &report.failed {
            eprintln!(
                "kotodama: persona {} keeps its style profile of analyzer version {}: {why}",
                s.persona_id, s.schema_version
            );
        }
    });
}

fn set(state: &AppState, progress: UpgradeProgress) {
    if let Ok(mut p) = state.profile_update.write() {
        *p = Some(progress);
    }
}
