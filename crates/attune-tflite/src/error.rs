//! Typed errors with stable machine codes.

use std::fmt;

/// Where in a model an operator sits: subgraph, operator index and builtin name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpLocation {
    /// Subgraph index (0 is the main graph).
    pub subgraph: usize,
    /// Operator index inside the subgraph, in execution order.
    pub index: usize,
    /// The TFLite builtin name, e.g. `FULLY_CONNECTED`, or `CUSTOM:<code>`.
    pub op: String,
}

impl fmt::Display for OpLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.subgraph == 0 {
            write!(f, "operator #{} ({})", self.index, self.op)
        } else {
            write!(
                f,
                "operator #{} ({}) of subgraph {}",
                self.index, self.op, self.subgraph
            )
        }
    }
}

/// Everything that can go wrong loading, preparing or running a model.
///
/// Every variant has a stable [`code`](ModelError::code) that callers in other
/// languages (JS, HTTP) can branch on; messages are for people and may change.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The bytes are not a well-formed TFLite flatbuffer, or reference things that do
    /// not exist (tensor, buffer or subgraph indices out of range, truncated data).
    #[error("malformed model: {0}")]
    Malformed(String),
    /// The model uses operators this engine does not implement; all of them are listed.
    #[error("unsupported operator(s): {}", list_unsupported(.0))]
    UnsupportedOps(Vec<OpLocation>),
    /// An operator is supported in general but this instance cannot be translated
    /// (bad attribute, inconsistent shapes, unsupported type combination).
    #[error("{at}: {reason}")]
    InvalidOperator {
        /// The operator.
        at: OpLocation,
        /// Why, with the cause chain.
        reason: String,
    },
    /// A caller-provided input does not match the model (count, dtype or shape).
    #[error("input {index} ({name}): {reason}")]
    InvalidInput {
        /// Input position.
        index: usize,
        /// Tensor name in the model.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// Optimizing the translated graph into an executable plan failed.
    #[error("preparing the model failed: {0}")]
    Prepare(String),
    /// Execution failed (for example an index out of range in a GATHER).
    #[error("inference failed: {0}")]
    Runtime(String),
}

fn list_unsupported(ops: &[OpLocation]) -> String {
    ops.iter()
        .map(|o| o.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

impl ModelError {
    /// The stable machine-readable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            ModelError::Malformed(_) => "E_MALFORMED_MODEL",
            ModelError::UnsupportedOps(_) => "E_UNSUPPORTED_OP",
            ModelError::InvalidOperator { .. } => "E_INVALID_OPERATOR",
            ModelError::InvalidInput { .. } => "E_INVALID_INPUT",
            ModelError::Prepare(_) => "E_PREPARE",
            ModelError::Runtime(_) => "E_RUNTIME",
        }
    }

    pub(crate) fn malformed(msg: impl Into<String>) -> Self {
        ModelError::Malformed(msg.into())
    }
}

/// Formats a tract/anyhow error with its whole cause chain.
pub(crate) fn chain(e: &tract_core::internal::TractError) -> String {
    format!("{e:#}")
}
