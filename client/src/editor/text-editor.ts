/**
 * A CodeMirror 6 field bound to a Y.Text with y-codemirror.next: remote edits are merged into the
 * local document as position-mapped changes, so the local caret stays where it was. Remote carets
 * come from awareness (`user: {name, color, colorLight}`, `cursor`). Read-only and the translated
 * labels live in compartments, reconfigured without rebuilding the view.
 */
import {
  cursorCharLeft,
  cursorCharRight,
  cursorDocEnd,
  cursorDocStart,
  cursorGroupLeft,
  cursorGroupRight,
  cursorLineBoundaryBackward,
  cursorLineBoundaryForward,
  cursorLineDown,
  cursorLineUp,
  deleteCharBackward,
  deleteCharForward,
  deleteGroupBackward,
  deleteGroupForward,
  insertNewline,
  selectAll,
  selectCharLeft,
  selectCharRight,
  selectDocEnd,
  selectDocStart,
  selectGroupLeft,
  selectGroupRight,
  selectLineBoundaryBackward,
  selectLineBoundaryForward,
  selectLineDown,
  selectLineUp,
} from '@codemirror/commands';
import { Compartment, EditorState, type Extension } from '@codemirror/state';
import { EditorView, keymap, placeholder, type KeyBinding } from '@codemirror/view';
import { yCollab, ySyncAnnotation, yUndoManagerKeymap } from 'y-codemirror.next';
import type { Awareness } from 'y-protocols/awareness';
import * as Y from 'yjs';
import { t, type Key, type Vars } from '../lib/i18n.js';

export interface TextEditorOptions {
  text: Y.Text;
  awareness: Awareness;
  editable: boolean;
  /** Longest text local typing may produce (remote edits are never refused). */
  maxChars: number;
  label: Key;
  labelVars?: Vars;
  placeholder: Key;
  onLengthChange?: (length: number) => void;
}

export interface TextEditor {
  view: EditorView;
  setEditable(editable: boolean): void;
  relabel(vars?: Vars): void;
  destroy(): void;
}

/**
 * The keys of a prose field (CodeMirror's defaultKeymap adds code commands that pull in the
 * syntax tree). Tab is left alone so it moves the focus.
 */
const proseKeymap: KeyBinding[] = [
  { key: 'ArrowLeft', run: cursorCharLeft, shift: selectCharLeft, preventDefault: true },
  { key: 'Mod-ArrowLeft', mac: 'Alt-ArrowLeft', run: cursorGroupLeft, shift: selectGroupLeft, preventDefault: true },
  { key: 'ArrowRight', run: cursorCharRight, shift: selectCharRight, preventDefault: true },
  { key: 'Mod-ArrowRight', mac: 'Alt-ArrowRight', run: cursorGroupRight, shift: selectGroupRight, preventDefault: true },
  { key: 'ArrowUp', run: cursorLineUp, shift: selectLineUp, preventDefault: true },
  { key: 'ArrowDown', run: cursorLineDown, shift: selectLineDown, preventDefault: true },
  { key: 'Home', run: cursorLineBoundaryBackward, shift: selectLineBoundaryBackward, preventDefault: true },
  { key: 'End', run: cursorLineBoundaryForward, shift: selectLineBoundaryForward, preventDefault: true },
  { key: 'Mod-Home', run: cursorDocStart, shift: selectDocStart },
  { key: 'Mod-End', run: cursorDocEnd, shift: selectDocEnd },
  { key: 'Enter', run: insertNewline },
  { key: 'Mod-a', run: selectAll },
  { key: 'Backspace', run: deleteCharBackward, shift: deleteCharBackward, preventDefault: true },
  { key: 'Delete', run: deleteCharForward, preventDefault: true },
  { key: 'Mod-Backspace', mac: 'Alt-Backspace', run: deleteGroupBackward, preventDefault: true },
  { key: 'Mod-Delete', mac: 'Alt-Delete', run: deleteGroupForward, preventDefault: true },
];

/** Undo and redo change the Y.Text directly, past the transaction filter: not while read-only. */
const undoKeymap: KeyBinding[] = yUndoManagerKeymap.map((binding) => {
  const { run } = binding;
  return run ? { ...binding, run: (view: EditorView) => !view.state.readOnly && run(view) } : binding;
});

const editableExtensions = (editable: boolean): Extension => [EditorState.readOnly.of(!editable), EditorView.editable.of(editable)];

export function createTextEditor(parent: HTMLElement, options: TextEditorOptions): TextEditor {
  const editable = new Compartment();
  const labels = new Compartment();
  let vars = options.labelVars;
  const labelExtensions = (): Extension => [
    placeholder(t(options.placeholder)),
    EditorView.contentAttributes.of({ 'aria-label': t(options.label, vars), 'aria-multiline': 'true' }),
  ];
  // Local changes only (remote ones carry ySyncAnnotation): none at all while read-only, since
  // EditorState.readOnly stops typing but not a dispatched change, which y-codemirror would write
  // to the Y.Text; and none past maxChars.
  const limit = EditorState.transactionFilter.of((tr) => {
    if (!tr.docChanged || tr.annotation(ySyncAnnotation) !== undefined) return tr;
    if (tr.startState.readOnly) return [];
    return tr.newDoc.length > options.maxChars && tr.newDoc.length > tr.startState.doc.length ? [] : tr;
  });
  const undoManager = new Y.UndoManager(options.text);
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: options.text.toString(),
      extensions: [
        keymap.of([...undoKeymap, ...proseKeymap]),
        EditorView.lineWrapping,
        limit,
        yCollab(options.text, options.awareness, { undoManager }),
        editable.of(editableExtensions(options.editable)),
        labels.of(labelExtensions()),
        EditorView.updateListener.of((update) => {
          if (update.docChanged) options.onLengthChange?.(update.state.doc.length);
        }),
      ],
    }),
  });
  options.onLengthChange?.(view.state.doc.length);
  return {
    view,
    setEditable(value) {
      view.dispatch({ effects: editable.reconfigure(editableExtensions(value)) });
    },
    relabel(next) {
      if (next) vars = next;
      view.dispatch({ effects: labels.reconfigure(labelExtensions()) });
    },
    destroy() {
      view.destroy();
      undoManager.destroy();
    },
  };
}
