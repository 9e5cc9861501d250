// Copyright (c) Microsoft Corporation.
// Licensed under the MIT License.
#![allow(clippy::unused_trait_names)]

//! Planner helpers for function parameters and loop indices.

use alloc::collections::BTreeSet;
use alloc::string::{String, ToString}; // thoth-bot patch: + String

use crate::ast::ExprRef;
use crate::compiler::destructuring_planner::create_destructuring_plan;
use crate::compiler::destructuring_planner::destructuring::create_destructuring_plan_with_tracking;
use crate::compiler::destructuring_planner::utils::validate_pattern_bindings;
use crate::compiler::destructuring_planner::{
    BindingPlan, BindingPlannerError, Result, ScopingMode, VariableBindingContext,
};

/// Convenience function for loop index expressions (respects parent scope).
pub fn create_loop_index_binding_plan<T: VariableBindingContext>(
    index_expr: &ExprRef,
    context: &T,
) -> Result<BindingPlan> {
    let destructuring_plan =
        create_destructuring_plan(index_expr, context, ScopingMode::RespectParent).ok_or_else(
            || BindingPlannerError::FailedToCreateDestructuringPlan {
                plan_type: "loop index".to_string(),
                span: index_expr.span().clone(),
            },
        )?;

    Ok(BindingPlan::LoopIndex {
        index_expr: index_expr.clone(),
        destructuring_plan,
    })
}

/// Convenience function for function parameters (always allow shadowing).
pub fn create_parameter_binding_plan<T: VariableBindingContext>(
    param_expr: &ExprRef,
    context: &T,
    scoping: ScopingMode,
) -> Result<BindingPlan> {
    // thoth-bot patch: delegate; no variables bound by earlier parameters.
    create_parameter_binding_plan_after(param_expr, context, scoping, &BTreeSet::new())
}

/// thoth-bot patch: like `create_parameter_binding_plan`, but the variables in
/// `earlier_params` (bound by earlier parameters of the same function head) are
/// treated as already bound, so a repeated variable (`f(x, x)`) becomes an
/// equality check, as it does within one parameter (`f([x, x])`) and in OPA,
/// instead of silently re-binding the variable.
pub fn create_parameter_binding_plan_after<T: VariableBindingContext>(
    param_expr: &ExprRef,
    context: &T,
    scoping: ScopingMode,
    earlier_params: &BTreeSet<String>,
) -> Result<BindingPlan> {
    let mut newly_bound = earlier_params.clone();
    let destructuring_plan =
        create_destructuring_plan_with_tracking(param_expr, context, scoping, &mut newly_bound)
            .ok_or_else(|| BindingPlannerError::FailedToCreateDestructuringPlan {
                plan_type: "parameter".to_string(),
                span: param_expr.span().clone(),
            })?;

    if scoping == ScopingMode::AllowShadowing {
        validate_pattern_bindings(param_expr, &newly_bound, context)?;
    }

    Ok(BindingPlan::Parameter {
        param_expr: param_expr.clone(),
        destructuring_plan,
    })
}
