//! "Distil" from the persona page: the runtime's worker runs the job; the page polls its status
//! (phase, step, loss curve, speed, ETA) and can cancel it.

use kotodama::distill::DistillParams;
use kotodama::runtime::DistillStatus;
use tauri::State;

use crate::commands::CommandResult;
use crate::Rt;

#[tauri::command]
pub fn start_distill(
    rt: State<'_, Rt>,
    persona_id: i64,
    steps: Option<usize>,
) -> CommandResult<i64> {
    let params = DistillParams {
        steps,
        ..Default::default()
    };
    Ok(rt.start_distill(persona_id, &params)?)
}

#[tauri::command]
pub fn distill_status(rt: State<'_, Rt>, persona_id: i64) -> CommandResult<Option<DistillStatus>> {
    Ok(rt.distill_status(persona_id)?)
}

#[tauri::command]
pub fn cancel_distill(rt: State<'_, Rt>, job_id: i64) -> CommandResult<bool> {
    Ok(rt.cancel_distill(job_id)?)
}

/// Resumes the persona's stopped distillation (cancelled, or cut short by a crash) from its checkpoint.
#[tauri::command]
pub fn resume_distill(rt: State<'_, Rt>, job_id: i64) -> CommandResult<()> {
    Ok(rt.resume_distill(job_id)?)
}
