//! The Arrow C Data Interface at the JS boundary.
//!
//! apache-arrow JS has no C Data exporter, so TS hands us a plain description
//! of each array (`src/batch/c-data.ts`: format, flags, length, offset, null
//! count, buffers, children, dictionary). `import_batch` lays those JS buffers
//! out in `ArrowSchema`/`ArrowArray` structs whose memory and release
//! callbacks belong to this module, and imports them with arrow-rs `ffi`.
//! `export_array` goes the other way: it exports an arrow-rs array through
//! `FFI_ArrowArray`/`FFI_ArrowSchema` and describes that C struct to JS.
//!
//! Invariants:
//! - imported arrays point into JS memory without copying; they are only
//!   valid while the JS description is reachable, so every entry point that
//!   imports drops the imported arrays before it returns to JS, or holds a
//!   reference to the description until it has dropped them (evalArrow,
//!   which evaluates on the engine's threads);
//! - every struct we allocate is freed exactly once, by its release callback
//!   (arrow-rs calls it when the last imported buffer is dropped);
//! - exported buffers are copied into JS-owned memory, so nothing on the JS
//!   side points into Rust memory after the call.

use std::ffi::{c_char, c_void, CString};
use std::ptr;

use arrow_array::ffi::{from_ffi, FFI_ArrowArray, FFI_ArrowSchema};
use arrow_array::{make_array, Array, ArrayRef, RecordBatch, StructArray};
use arrow_data::ArrayData;
use napi::{Env, JsObject, JsTypedArray, JsUnknown, Result, ValueType};

/// `ArrowSchema` exactly as the C Data Interface lays it out.
#[repr(C)]
struct CSchema {
    format: *const c_char,
    name: *const c_char,
    metadata: *const c_char,
    flags: i64,
    n_children: i64,
    children: *mut *mut CSchema,
    dictionary: *mut CSchema,
    release: Option<unsafe extern "C" fn(*mut CSchema)>,
    private_data: *mut c_void,
}

/// `ArrowArray` exactly as the C Data Interface lays it out.
#[repr(C)]
struct CArray {
    length: i64,
    null_count: i64,
    offset: i64,
    n_buffers: i64,
    n_children: i64,
    buffers: *mut *const c_void,
    children: *mut *mut CArray,
    dictionary: *mut CArray,
    release: Option<unsafe extern "C" fn(*mut CArray)>,
    private_data: *mut c_void,
}

/// What a `CSchema` owns: its strings and children, freed by `release_schema`.
struct SchemaPrivate {
    _format: CString,
    _name: CString,
    children: Vec<*mut CSchema>,
    dictionary: *mut CSchema,
}

/// What a `CArray` owns: the pointer tables, freed by `release_array`.
struct ArrayPrivate {
    _buffers: Vec<*const c_void>,
    children: Vec<*mut CArray>,
    dictionary: *mut CArray,
}

unsafe extern "C" fn release_schema(schema: *mut CSchema) {
    if schema.is_null() {
        return;
    }
    // SAFETY: `schema` was built by `build_schema`, whose private_data is a
    // leaked Box<SchemaPrivate>; the spec guarantees release runs once.
    let private = Box::from_raw((*schema).private_data as *mut SchemaPrivate);
    for child in private.children {
        free_schema(child);
    }
    if !private.dictionary.is_null() {
        free_schema(private.dictionary);
    }
    (*schema).release = None;
}

/// Releases (if still live) and frees a child schema allocated by `build_schema`.
unsafe fn free_schema(schema: *mut CSchema) {
    // SAFETY: children are leaked Boxes owned by their parent's private data.
    if let Some(release) = (*schema).release {
        release(schema);
    }
    drop(Box::from_raw(schema));
}

unsafe extern "C" fn release_array(array: *mut CArray) {
    if array.is_null() {
        return;
    }
    // SAFETY: as for schemas: private_data is a leaked Box<ArrayPrivate>.
    let private = Box::from_raw((*array).private_data as *mut ArrayPrivate);
    for child in private.children {
        free_array(child);
    }
    if !private.dictionary.is_null() {
        free_array(private.dictionary);
    }
    (*array).release = None;
}

unsafe fn free_array(array: *mut CArray) {
    // SAFETY: children are leaked Boxes owned by their parent's private data.
    if let Some(release) = (*array).release {
        release(array);
    }
    drop(Box::from_raw(array));
}

fn invalid(message: impl Into<String>) -> napi::Error {
    napi::Error::new(napi::Status::InvalidArg, message.into())
}

fn get_i64(object: &JsObject, key: &str) -> Result<i64> {
    let value: f64 = object.get_named_property(key)?;
    if !(value.is_finite() && value >= 0.0 && value.fract() == 0.0) {
        return Err(invalid(format!(
            "C Data description: {key} must be a non-negative integer"
        )));
    }
    Ok(value as i64)
}

fn c_string(text: String, what: &str) -> Result<CString> {
    CString::new(text)
        .map_err(|_| invalid(format!("C Data description: {what} contains a NUL byte")))
}

/// Builds the children and the dictionary (null when absent) of a described
/// array with `build`, each leaked into a Box that its parent's release frees.
fn build_nested<T>(
    description: &JsObject,
    build: fn(&JsObject) -> Result<T>,
) -> Result<(Vec<*mut T>, *mut T)> {
    let children_js: JsObject = description.get_named_property("children")?;
    let n_children = children_js.get_array_length()?;
    let mut children = Vec::with_capacity(n_children as usize);
    for i in 0..n_children {
        let child: JsObject = children_js.get_element(i)?;
        children.push(Box::into_raw(Box::new(build(&child)?)));
    }
    let dictionary_js: JsUnknown = description.get_named_property("dictionary")?;
    let dictionary = if dictionary_js.get_type()? == ValueType::Object {
        // SAFETY: the type was checked just above.
        let dictionary_object: JsObject = unsafe { dictionary_js.cast() };
        Box::into_raw(Box::new(build(&dictionary_object)?))
    } else {
        ptr::null_mut()
    };
    Ok((children, dictionary))
}

/// Builds the schema struct of one described array, recursively.
fn build_schema(description: &JsObject) -> Result<CSchema> {
    let format = c_string(
        description.get_named_property::<String>("format")?,
        "format",
    )?;
    let name = c_string(description.get_named_property::<String>("name")?, "name")?;
    let flags: f64 = description.get_named_property("flags")?;
    let (children, dictionary) = build_nested(description, build_schema)?;
    let mut private = Box::new(SchemaPrivate {
        _format: format,
        _name: name,
        children,
        dictionary,
    });
    Ok(CSchema {
        format: private._format.as_ptr(),
        name: private._name.as_ptr(),
        metadata: ptr::null(),
        flags: flags as i64,
        n_children: private.children.len() as i64,
        children: private.children.as_mut_ptr(),
        dictionary: private.dictionary,
        release: Some(release_schema),
        private_data: Box::into_raw(private) as *mut c_void,
    })
}

/// Builds the array struct of one described array, its buffers pointing into JS memory.
fn build_array(description: &JsObject) -> Result<CArray> {
    let buffers_js: JsObject = description.get_named_property("buffers")?;
    let n_buffers = buffers_js.get_array_length()?;
    let mut buffers = Vec::with_capacity(n_buffers as usize);
    for i in 0..n_buffers {
        let buffer: JsUnknown = buffers_js.get_element(i)?;
        if buffer.is_typedarray()? {
            // SAFETY: checked to be a typed array just above.
            let typed: JsTypedArray = unsafe { buffer.cast() };
            let value = typed.into_value()?;
            let data = value.as_ref() as &[u8];
            buffers.push(data.as_ptr() as *const c_void);
        } else {
            buffers.push(ptr::null());
        }
    }
    let (children, dictionary) = build_nested(description, build_array)?;
    let mut private = Box::new(ArrayPrivate {
        _buffers: buffers,
        children,
        dictionary,
    });
    Ok(CArray {
        length: get_i64(description, "length")?,
        null_count: get_i64(description, "nullCount")?,
        offset: get_i64(description, "offset")?,
        n_buffers: private._buffers.len() as i64,
        n_children: private.children.len() as i64,
        buffers: private._buffers.as_mut_ptr(),
        children: private.children.as_mut_ptr(),
        dictionary: private.dictionary,
        release: Some(release_array),
        private_data: Box::into_raw(private) as *mut c_void,
    })
}

/// Imports one described array through the C Data Interface, unchecked:
/// `validate` must pass before anything reads its values.
///
/// The result borrows JS memory: it must be dropped before the calling napi
/// function returns (see the module invariants).
fn import_unchecked(description: &JsObject) -> Result<ArrayData> {
    let mut schema = build_schema(description)?;
    let mut array = build_array(description)?;
    // SAFETY: CSchema/CArray have the C Data Interface layout, which is the
    // layout of FFI_ArrowSchema/FFI_ArrowArray (both #[repr(C)] mirrors of
    // the spec). from_raw moves the structs out and leaves released husks,
    // so ownership passes to arrow-rs, which calls our release callbacks.
    let (ffi_array, ffi_schema) = unsafe {
        (
            FFI_ArrowArray::from_raw(&mut array as *mut CArray as *mut FFI_ArrowArray),
            FFI_ArrowSchema::from_raw(&mut schema as *mut CSchema as *mut FFI_ArrowSchema),
        )
    };
    // SAFETY: the structs were just built from a description whose buffers
    // the TS exporter laid out in the spec's order for each format.
    unsafe { from_ffi(ffi_array, &ffi_schema) }
        .map_err(|e| invalid(format!("Arrow C Data import failed: {e}")))
}

/// A described record batch imported but not yet validated. Validation reads
/// every offset and string of the batch, so evalArrow runs it on the
/// engine's threads rather than the JS thread; nothing else can read it first.
pub struct UncheckedBatch {
    data: ArrayData,
}

impl UncheckedBatch {
    /// Validates the batch's buffers (see `validate`) and gives the batch.
    pub fn validated(self) -> std::result::Result<RecordBatch, String> {
        validate(&self.data).map_err(|e| format!("Arrow batch is invalid: {e}"))?;
        let array = make_array(self.data);
        let structure = array
            .as_any()
            .downcast_ref::<StructArray>()
            .ok_or("a record batch must be described as a struct array (format +s)")?;
        Ok(RecordBatch::from(structure))
    }
}

/// Imports a described struct array (`+s`) for validation later.
pub fn import_batch_unchecked(description: &JsObject) -> Result<UncheckedBatch> {
    Ok(UncheckedBatch {
        data: import_unchecked(description)?,
    })
}

/// Imports and validates a described struct array (`+s`) as a RecordBatch.
pub fn import_batch(description: &JsObject) -> Result<RecordBatch> {
    import_batch_unchecked(description)?
        .validated()
        .map_err(invalid)
}

/// `validate_full`, except that a child whose every element is null gets
/// only the structural checks (buffer sizes): no reader looks at the
/// offsets or bytes of a null element, and the per-element checks of the
/// hundreds of all-null columns of a wide, sparse batch were the Arrow
/// path's largest cost after evaluation (8.7% of its profile on 756-column
/// batches of 800 rows; 1.6% with this).
fn validate(data: &ArrayData) -> std::result::Result<(), arrow_schema::ArrowError> {
    data.validate_data()?;
    for child in data.child_data() {
        // Counted from the bitmap itself: a description's null count is
        // not trusted.
        let all_null = child
            .nulls()
            .is_some_and(|n| n.inner().count_set_bits() == 0);
        if all_null {
            child.validate()?;
        } else {
            child.validate_full()?;
        }
    }
    Ok(())
}

/// Bytes of each buffer of an exported array, from its format and geometry.
fn buffer_lengths(format: &str, array: &FFI_ArrowArray) -> Result<Vec<usize>> {
    let rows = array.offset() + array.len();
    let bitmap = rows.div_ceil(8);
    let fixed = |width: usize| Ok(vec![bitmap, rows * width]);
    match format {
        "n" => Ok(vec![]),
        "b" => Ok(vec![bitmap, bitmap]),
        "c" | "C" => fixed(1),
        "s" | "S" | "e" => fixed(2),
        "i" | "I" | "f" | "tdD" => fixed(4),
        "l" | "L" | "g" | "tdm" => fixed(8),
        "u" | "z" | "U" | "Z" => {
            let wide = format == "U" || format == "Z";
            let offsets_len = (rows + 1) * if wide { 8 } else { 4 };
            let offsets = array.buffer(1);
            let end = if rows == 0 {
                0
            } else if offsets.is_null() {
                return Err(invalid("exported string array has no offsets"));
            } else if wide {
                // SAFETY: the offsets buffer holds rows + 1 i64 values.
                unsafe { ptr::read_unaligned((offsets as *const i64).add(rows)) as usize }
            } else {
                // SAFETY: the offsets buffer holds rows + 1 i32 values.
                unsafe { ptr::read_unaligned((offsets as *const i32).add(rows)) as usize }
            };
            Ok(vec![bitmap, offsets_len, end])
        }
        "+l" => Ok(vec![bitmap, (rows + 1) * 4]),
        "+L" => Ok(vec![bitmap, (rows + 1) * 8]),
        "+s" => Ok(vec![bitmap]),
        f if f.starts_with("ts") => fixed(8),
        other => Err(invalid(format!("no C Data export for format {other}"))),
    }
}

fn describe(env: &Env, schema: &FFI_ArrowSchema, array: &FFI_ArrowArray) -> Result<JsObject> {
    let format = schema.format().to_string();
    let mut object = env.create_object()?;
    object.set_named_property("format", format.as_str())?;
    object.set_named_property("name", schema.name().unwrap_or(""))?;
    object.set_named_property(
        "flags",
        schema.flags().map(|f| f.bits()).unwrap_or(0) as f64,
    )?;
    object.set_named_property("length", array.len() as f64)?;
    object.set_named_property("nullCount", array.null_count() as f64)?;
    object.set_named_property("offset", array.offset() as f64)?;
    let lengths = buffer_lengths(&format, array)?;
    let mut buffers = env.create_array_with_length(array.num_buffers())?;
    for i in 0..array.num_buffers() {
        let pointer = array.buffer(i);
        let length = lengths.get(i).copied().unwrap_or(0);
        if pointer.is_null() {
            buffers.set_element(i as u32, env.get_null()?)?;
        } else {
            // SAFETY: the exporter guarantees `length` readable bytes for this
            // buffer of this format; we copy them into JS-owned memory.
            let bytes = unsafe { std::slice::from_raw_parts(pointer, length) }.to_vec();
            buffers.set_element(i as u32, env.create_buffer_with_data(bytes)?.into_raw())?;
        }
    }
    object.set_named_property("buffers", buffers)?;
    let n_children = array.num_children();
    let mut children = env.create_array_with_length(n_children)?;
    for i in 0..n_children {
        children.set_element(i as u32, describe(env, schema.child(i), array.child(i))?)?;
    }
    object.set_named_property("children", children)?;
    match (schema.dictionary(), array.dictionary()) {
        (Some(dictionary_schema), Some(dictionary_array)) => object.set_named_property(
            "dictionary",
            describe(env, dictionary_schema, dictionary_array)?,
        )?,
        _ => object.set_named_property("dictionary", env.get_null()?)?,
    }
    Ok(object)
}

/// Exports an array through the C Data Interface and describes it to JS.
pub fn export_array(env: &Env, array: &ArrayRef, name: &str) -> Result<JsObject> {
    let data = array.to_data();
    let ffi_array = FFI_ArrowArray::new(&data);
    let field = arrow_schema::Field::new(name, array.data_type().clone(), true);
    let ffi_schema = FFI_ArrowSchema::try_from(&field)
        .map_err(|e| invalid(format!("Arrow C Data export failed: {e}")))?;
    describe(env, &ffi_schema, &ffi_array)
}

/// Exports a RecordBatch as a struct array description.
pub fn export_batch(env: &Env, batch: &RecordBatch) -> Result<JsObject> {
    let structure: ArrayRef = std::sync::Arc::new(StructArray::from(batch.clone()));
    export_array(env, &structure, "")
}
